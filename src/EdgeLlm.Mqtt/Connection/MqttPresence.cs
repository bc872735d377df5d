using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// Who a connection is on the broker. A node keeps a persistent session (QoS 1 requests wait for it) and
/// leaves its offline status, as its will and when it closes; a watcher of the fleet (`edgellm dashboard`)
/// only listens and commands, so it has a clean session and no status of its own.
/// </summary>
/// <param name="OfflineStatus">The retained message that says this node has gone; null for a watcher.</param>
internal sealed record MqttPresence(string ClientId, bool PersistentSession, MqttApplicationMessage? OfflineStatus)
{
    public static MqttPresence Node(MqttOptions options, NodeOptions node) => new(
        $"edgellm-{node.Id}",
        PersistentSession: true,
        new MqttApplicationMessageBuilder()
            .WithTopic(options.StatusTopic(node.Id))
            .WithPayload(NodeStatusFormatter.Offline(node))
            .WithRetainFlag(true)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build());

    public static MqttPresence Watcher(string clientId) => new(clientId, PersistentSession: false, OfflineStatus: null);
}
