using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Mqtt.Tests.Connection;

/// <summary>The node's connection against a real Mosquitto that goes away and comes back.</summary>
public sealed class MqttConnectionTests
{
    [MosquittoFact]
    public async Task Publish_WhileTheBrokerIsDown_IsSentInOrderOnceItIsBack()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var connection = Connect(broker.Server, "outbox");
        connection.Start();
        await WaitConnectedAsync(connection);
        using var listener = await ListenAsync(broker.Server, "test/outbox");
        await broker.StopAsync();

        for (int i = 0; i < 50; i++)
        {
            connection.Publish(new MqttApplicationMessageBuilder().WithTopic("test/outbox").WithPayload($"m{i}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        await broker.RestartAsync();
        await listener.Client.ConnectAsync(listener.Options);
        var received = await listener.WaitForAsync(50, TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{i}"), received);
    }

    [MosquittoFact]
    public async Task Reconnection_WithoutTheSession_RestoresTheSubscriptions()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        // A session that expires at once: the broker forgets the subscription when the connection drops.
        await using var connection = Connect(broker.Server, "resubscribe", sessionExpirySeconds: 0);
        var received = new List<string>();
        connection.Start();
        await connection.SubscribeAsync(
            new MQTTnet.Packets.MqttTopicFilter { Topic = "test/resubscribe", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce },
            e =>
            {
                lock (received)
                {
                    received.Add(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
                }

                return Task.CompletedTask;
            },
            CancellationToken.None);

        await broker.RestartAsync();
        await WaitConnectedAsync(connection);
        await Task.Delay(500);
        using var sender = new MqttClientFactory().CreateMqttClient();
        var (host, port) = BrokerEndpoint.Parse(broker.Server);
        await sender.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("sender").Build());
        await sender.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("test/resubscribe").WithPayload("after").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());

        await WaitUntilAsync(() =>
        {
            lock (received)
            {
                return received.Contains("after");
            }
        });
    }

    private static MqttConnection Connect(string server, string nodeId, int sessionExpirySeconds = 3600) => new(
        Microsoft.Extensions.Options.Options.Create(new MqttOptions { Server = server, SessionExpirySeconds = sessionExpirySeconds }),
        Microsoft.Extensions.Options.Options.Create(new NodeOptions { Id = $"{nodeId}-{Guid.NewGuid():N}"[..20] }),
        TimeProvider.System,
        NullLogger<MqttConnection>.Instance);

    private static Task WaitConnectedAsync(MqttConnection connection) => WaitUntilAsync(() => connection.IsConnected);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }

    private static async Task<Listener> ListenAsync(string server, string topic)
    {
        var (host, port) = BrokerEndpoint.Parse(server);
        var options = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId($"listener-{Guid.NewGuid():N}"[..20]).WithCleanStart(false).WithSessionExpiryInterval(600).Build();
        var listener = new Listener(new MqttClientFactory().CreateMqttClient(), options);
        await listener.Client.ConnectAsync(options);
        await listener.Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return listener;
    }

    private sealed class Listener : IDisposable
    {
        private readonly List<string> _messages = [];

        public Listener(IMqttClient client, MqttClientOptions options)
        {
            Client = client;
            Options = options;
            client.ApplicationMessageReceivedAsync += e =>
            {
                lock (_messages)
                {
                    _messages.Add(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
                }

                return Task.CompletedTask;
            };
        }

        public IMqttClient Client { get; }

        public MqttClientOptions Options { get; }

        public async Task<IReadOnlyList<string>> WaitForAsync(int count, TimeSpan timeout)
        {
            using var deadline = new CancellationTokenSource(timeout);
            while (true)
            {
                lock (_messages)
                {
                    if (_messages.Count >= count || deadline.IsCancellationRequested)
                    {
                        return [.. _messages];
                    }
                }

                await Task.Delay(50, CancellationToken.None);
            }
        }

        public void Dispose() => Client.Dispose();
    }
}
