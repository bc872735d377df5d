using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Mqtt.Tests.Connection;

/// <summary>The embedded broker in this process (MQTTnet.Server) where it must behave as MQTT 5 says and MQTTnet.Server alone does not.</summary>
public sealed class EmbeddedBrokerTests
{
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private readonly int _port = FreePort.Next();

    [Fact]
    public async Task AQueuedMessage_GoesOutWithWhatIsLeftOfItsExpiry_OrNotAtAllOnceItHasRunOut()
    {
        await using var broker = await StartBrokerAsync();
        await using var subscriber = await SubscribeAsync("t/#");
        await subscriber.DisconnectAsync();
        await using var publisher = await RecordingClient.ConnectAsync(_port, "publisher");
        await publisher.PublishAsync(Message("t/expires", "soon", expirySeconds: 5));
        await publisher.PublishAsync(Message("t/lasts", "later", expirySeconds: 60));

        _time.Advance(TimeSpan.FromSeconds(10));
        await subscriber.ReconnectAsync();
        var later = await subscriber.NextAsync();

        // Queued in order: had the expired one been delivered, it would have come first.
        Assert.Equal(("later", 50u), (Encoding.UTF8.GetString(later.Payload), later.MessageExpiryInterval));
        Assert.Null(later.UserProperties);
        Assert.Equal(1, subscriber.Count);
    }

    [Fact]
    public async Task AStampAClientForges_IsDropped_SoThatItCannotExpireOrExtendAMessage()
    {
        await using var broker = await StartBrokerAsync();
        await using var subscriber = await SubscribeAsync("t/#");
        await using var publisher = await RecordingClient.ConnectAsync(_port, "forger");
        var forged = new MqttApplicationMessageBuilder().WithTopic("t/forged").WithPayload("x").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithMessageExpiryInterval(30).WithUserProperty("edgellm-broker-received", Encoding.UTF8.GetBytes("0")).WithUserProperty("kept", Encoding.UTF8.GetBytes("yes")).Build();

        await publisher.PublishAsync(forged);
        var received = await subscriber.NextAsync();

        Assert.Equal(30u, received.MessageExpiryInterval);
        Assert.Equal([("kept", "yes")], received.UserProperties!.Select(p => (p.Name, p.ReadValueAsString())));
    }

    [Fact]
    public async Task ASharedSubscription_IsRefused_AndTheConnectionSaysSo()
    {
        await using var broker = await StartBrokerAsync();
        await using var connection = new MqttConnection(
            Microsoft.Extensions.Options.Options.Create(new MqttOptions { EmbeddedPort = _port }),
            MqttPresence.Watcher("edgellm-refused"),
            TimeProvider.System,
            NullLogger<MqttConnection>.Instance);
        connection.Start();

        var refusal = await Assert.ThrowsAsync<SubscriptionRefusedException>(() => connection.SubscribeAsync(
            new MqttTopicFilter { Topic = "$share/edgellm-tier0/edgellm/tier/0/ask", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce },
            _ => Task.CompletedTask,
            CancellationToken.None));

        Assert.Equal(MqttClientSubscribeResultCode.SharedSubscriptionsNotSupported, refusal.Reason);
        Assert.Contains("the broker refused the subscription to $share/edgellm-tier0/edgellm/tier/0/ask: SharedSubscriptionsNotSupported", refusal.Message);
    }

    private async Task<EmbeddedBroker> StartBrokerAsync()
    {
        var broker = new EmbeddedBroker(new MqttOptions { EmbeddedPort = _port }, _time, NullLogger.Instance);
        await broker.StartAsync();
        return broker;
    }

    private async Task<RecordingClient> SubscribeAsync(string filter)
    {
        var subscriber = await RecordingClient.ConnectAsync(_port, persistentSession: true);
        await subscriber.SubscribeAsync(filter);
        return subscriber;
    }

    private static MqttApplicationMessage Message(string topic, string payload, uint expirySeconds) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithMessageExpiryInterval(expirySeconds).Build();
}
