using MQTTnet;
using MQTTnet.Packets;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The filters the node subscribes to, each with its handler: every message goes to each handler whose
/// filter matches its topic, and all the filters are subscribed again when the broker lost the session.
/// </summary>
internal sealed class SubscriptionTable
{
    private readonly List<Subscription> _subscriptions = [];
    private readonly Lock _lock = new();

    public MqttTopicFilter[] Filters
    {
        get
        {
            lock (_lock)
            {
                return [.. _subscriptions.Select(s => s.Filter)];
            }
        }
    }

    public Subscription Add(MqttTopicFilter filter, Func<MqttApplicationMessageReceivedEventArgs, Task> handler)
    {
        var subscription = new Subscription(filter, handler);
        lock (_lock)
        {
            _subscriptions.Add(subscription);
        }

        return subscription;
    }

    public void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            _subscriptions.Remove(subscription);
        }
    }

    /// <summary>Hands the message to every matching handler in turn; the broker gets its acknowledgement once all have returned.</summary>
    public async Task DispatchAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        Subscription[] matching;
        lock (_lock)
        {
            matching = [.. _subscriptions.Where(s => TopicFilters.Matches(s.Filter.Topic, e.ApplicationMessage.Topic))];
        }

        foreach (var subscription in matching)
        {
            await subscription.Handler(e).ConfigureAwait(false);
        }
    }

    public sealed record Subscription(MqttTopicFilter Filter, Func<MqttApplicationMessageReceivedEventArgs, Task> Handler);
}
