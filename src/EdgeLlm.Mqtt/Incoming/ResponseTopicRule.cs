using EdgeLlm.Mqtt.Connection;

namespace EdgeLlm.Mqtt.Incoming;

/// <summary>
/// A request's ResponseTopic is its own to choose, but never one of the fleet's control topics: a reply
/// published there would be taken for a command, a status, a cancel or a request by every node that
/// listens (docs/design.md §3). Those are the nodes' command, status, cancel and ask topics (not their
/// upstream topics, where escalated requests are answered), every tier topic, the node's own request
/// filter, and the broker's $-topics; a topic with wildcards is no topic at all.
/// </summary>
internal static class ResponseTopicRule
{
    /// <summary>Why <paramref name="topic"/> may not take replies; null when it may.</summary>
    public static string? WhyNot(string topic, MqttOptions options)
    {
        if (topic.Length == 0 || topic.AsSpan().IndexOfAny("#+\0") >= 0)
        {
            return "is not a topic name (wildcards or NUL)";
        }

        if (topic.StartsWith('$'))
        {
            return "is one of the broker's $-topics";
        }

        string prefix = options.TopicPrefix;
        string[] control = [$"{prefix}/node/+/cmd", $"{prefix}/node/+/status", $"{prefix}/node/+/cancel", $"{prefix}/node/+/ask", $"{prefix}/tier/#", options.EffectiveRequestTopic];
        return control.FirstOrDefault(filter => TopicFilters.Matches(filter, topic)) is string matched
            ? $"is a control topic of the fleet ({matched})"
            : null;
    }
}
