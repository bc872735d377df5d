using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Incoming;

/// <summary>
/// Cancels (docs/design.md §3a): <c>{"id": "...", "cancel": true}</c> on {prefix}/node/{nodeId}/cancel, from a
/// requester, or on {prefix}/tier/{tier}/cancel, from a lower node that escalated the request and does not
/// know which node of this tier took it. The request under that id stops between tokens and gets its final
/// answer, "cancelled"; a cancel that is not one is logged and changes nothing.
/// </summary>
internal sealed class CancelListener(IOptions<MqttOptions> options, IOptions<NodeOptions> node, MqttConnection connection, INodePipeline pipeline, ILogger<CancelListener> logger) : IHostedService
{
    private const int MaxCancelBytes = 1024;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (string topic in new[] { options.Value.CancelTopic(node.Value.Id), options.Value.TierCancelTopic(node.Value.Tier) })
        {
            var subscription = new MqttTopicFilterBuilder().WithTopic(topic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithNoLocal().Build();
            await connection.SubscribeAsync(subscription, OnMessageAsync, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The id a cancel names; null, with the problem, when the payload is not a cancel.</summary>
    public static (string? Id, string? Problem) Read(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxCancelBytes)
        {
            return (null, $"{payload.Length} bytes, more than a cancel's {MaxCancelBytes}");
        }

        if (JsonPayload.Utf8Problem(payload) is string notUtf8)
        {
            return (null, notUtf8);
        }

        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 4 });
            using var json = JsonDocument.ParseValue(ref reader);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("cancel", out var cancel) || cancel.ValueKind != JsonValueKind.True)
            {
                return (null, "not {\"id\": ..., \"cancel\": true}");
            }

            return root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 and <= RequestEnvelope.MaxIdLength } text
                ? (text, null)
                : (null, $"its id must be a string of 1 to {RequestEnvelope.MaxIdLength} characters");
        }
        catch (JsonException e)
        {
            return (null, $"not valid JSON ({e.Message})");
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (MqttReplyTarget.IsReply(message))
        {
            return Task.CompletedTask;
        }

        var (id, problem) = Read(System.Buffers.BuffersExtensions.ToArray(message.Payload));
        if (id is null)
        {
            Log.NotACancel(logger, message.Topic, problem!);
            return Task.CompletedTask;
        }

        pipeline.Cancel(id);
        return Task.CompletedTask;
    }
}
