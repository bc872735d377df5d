using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Tests;

/// <summary>
/// A node's MQTT side in this process: its options for the embedded broker (MQTTnet.Server) on a free port,
/// under a topic prefix of its own, and its connection; fast, with no broker process.
/// </summary>
internal sealed class EmbeddedNode : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private EmbeddedBroker? _broker;

    private EmbeddedNode(MqttOptions mqtt, NodeOptions node, TimeProvider time)
    {
        Mqtt = mqtt;
        Node = node;
        _time = time;
        Connection = new MqttConnection(Options.Create(mqtt), MqttPresence.Node(mqtt, node), time, NullLogger<MqttConnection>.Instance);
    }

    public MqttOptions Mqtt { get; }

    public NodeOptions Node { get; }

    public MqttConnection Connection { get; }

    public int Port => Mqtt.EmbeddedPort;

    /// <summary>A node "pi-07" of tier 0; nothing runs yet.</summary>
    public static EmbeddedNode Create(Action<MqttOptions>? configure = null, TimeProvider? time = null)
    {
        var mqtt = new MqttOptions { EmbeddedPort = FreePort.Next(), TopicPrefix = $"t{Guid.NewGuid():N}"[..9] };
        configure?.Invoke(mqtt);
        return new EmbeddedNode(mqtt, new NodeOptions { Id = "pi-07", Tier = 0 }, time ?? TimeProvider.System);
    }

    /// <summary>Starts the broker and connects the node to it, for the parts that do not bring the broker themselves (the front door does).</summary>
    public async Task StartBrokerAsync()
    {
        _broker = new EmbeddedBroker(Mqtt, _time, NullLogger.Instance);
        await _broker.StartAsync();
        Connection.Start();
    }

    public Task<RecordingClient> ConnectClientAsync(string? clientId = null) => RecordingClient.ConnectAsync(Port, clientId);

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }
}
