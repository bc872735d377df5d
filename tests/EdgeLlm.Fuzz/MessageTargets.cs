using System.Buffers;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Fleet;
using EdgeLlm.Mqtt.Incoming;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;

namespace EdgeLlm.Fuzz;

/// <summary>The parsers of what arrives over MQTT from devices and nodes nobody audits, and of the catalog a fleet ships.</summary>
internal static class MessageTargets
{
    private const string Node = "dev-a";

    public static IEnumerable<FuzzTarget> All(ScratchFiles scratch) =>
    [
        new("request", "a request payload on {prefix}/ask/# or a tier topic: plain text or a JSON envelope (RequestParser)",
            input => RequestParser.Parse(new ReadOnlySequence<byte>(input), new AdmissionOptions().MaxPromptBytes).Request is not null),
        new("command", "a model command on {prefix}/node/{id}/cmd (CommandListener)",
            input => CommandListener.Parse(new MqttApplicationMessageBuilder().WithTopic($"edgellm/node/{Node}/cmd").WithPayload(input).Build()).Problem is null),
        new("cancel", "a cancel on {prefix}/node/{id}/cancel (CancelListener)",
            input => CancelListener.Read(input).Problem is null),
        new("chunk", "a streamed chunk or heartbeat from an upstream node (ChunkReader)",
            input => ChunkReader.Read(input).Problem is null),
        new("upstream-reply", "an upstream node's final answer or error to an escalated request (MqttEscalator)",
            input => MqttEscalator.Read(input) is not null),
        new("status", "a retained status advertisement or will on {prefix}/node/+/status, as the router and the fleet page read it",
            input =>
            {
                var payload = new ReadOnlySequence<byte>(input);
                bool routed = AdvertisementListener.Read(Node, payload).Advertisement is not null;
                bool shown = FleetWatcher.Read(Node, payload).Status is not null;
                return routed || shown;
            }),
        new("catalog", "models/catalog.json, or a catalog a fleet ships (CatalogReader)",
            input => FuzzTarget.Accepted<CatalogException>(() => CatalogReader.Parse(input, "catalog.json", scratch.Folder("catalog")))),
        new("model-description", "the edgellm.json a pulled model folder carries (CatalogReader.ReadDescription)",
            input => FuzzTarget.Accepted<CatalogException>(() => CatalogReader.ReadDescription(scratch.Write("model-description", CatalogReader.DescriptionFile, input), "model", 1))),
    ];
}
