using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Mqtt.Tests.Connection;

/// <summary>The node's connection against a real Mosquitto that goes away and comes back.</summary>
public sealed class MqttConnectionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [MosquittoFact]
    public async Task Publish_WhileTheBrokerIsDown_IsSentInOrderOnceItIsBack()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var connection = Connect(broker.Server, "outbox");
        connection.Start();
        await Eventually.TrueAsync(() => connection.IsConnected, Patience);
        await using var listener = await RecordingClient.ConnectAsync(BrokerEndpoint.Parse(broker.Server).Port, persistentSession: true);
        await listener.SubscribeAsync("test/outbox");
        await broker.StopAsync();

        for (int i = 0; i < 50; i++)
        {
            connection.Publish(new MqttApplicationMessageBuilder().WithTopic("test/outbox").WithPayload($"m{i}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        await broker.RestartAsync();
        await listener.ReconnectAsync();
        var received = new List<string>();
        for (int i = 0; i < 50; i++)
        {
            received.Add(Encoding.UTF8.GetString((await listener.NextAsync()).Payload));
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), received);
    }

    [MosquittoFact]
    public async Task Reconnection_WithoutTheSession_RestoresTheSubscriptions()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        // A session that expires at once: the broker forgets the subscription when the connection drops.
        await using var connection = Connect(broker.Server, "resubscribe", sessionExpirySeconds: 0);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Raised once a connection is up and, without a session, its subscriptions are there again: the second is the reconnection.
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int connections = 0;
        connection.Connected += () =>
        {
            if (Interlocked.Increment(ref connections) == 2)
            {
                reconnected.TrySetResult();
            }

            return Task.CompletedTask;
        };
        connection.Start();
        await connection.SubscribeAsync(
            new MQTTnet.Packets.MqttTopicFilter { Topic = "test/resubscribe", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce },
            e =>
            {
                received.TrySetResult(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
                return Task.CompletedTask;
            },
            CancellationToken.None);

        await broker.RestartAsync();
        await reconnected.Task.WaitAsync(Patience);
        await using var sender = await RecordingClient.ConnectAsync(BrokerEndpoint.Parse(broker.Server).Port, "sender");
        await sender.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("test/resubscribe").WithPayload("after").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        Assert.Equal("after", await received.Task.WaitAsync(Patience));
    }

    private static MqttConnection Connect(string server, string nodeId, int sessionExpirySeconds = 3600)
    {
        var options = new MqttOptions { Server = server, SessionExpirySeconds = sessionExpirySeconds };
        var node = new NodeOptions { Id = $"{nodeId}-{Guid.NewGuid():N}"[..20] };
        return new(Microsoft.Extensions.Options.Options.Create(options), MqttPresence.Node(options, node), TimeProvider.System, NullLogger<MqttConnection>.Instance);
    }
}
