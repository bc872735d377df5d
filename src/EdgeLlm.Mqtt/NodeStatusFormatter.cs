using EdgeLlm.Core;
using EdgeLlm.Core.Options;

namespace EdgeLlm.Mqtt;

/// <summary>What a node advertises on edgellm/node/{nodeId}/status (retained).</summary>
public sealed record NodeStatus(
    string Node,
    int Tier,
    string Version,
    IReadOnlyList<string> Models,
    int QueueDepth,
    long UptimeSeconds,
    long Answers,
    IReadOnlyDictionary<string, long> Errors);

/// <summary>The status advertisement and the will message that replaces it when the node goes away.</summary>
public static class NodeStatusFormatter
{

    public static byte[] Online(NodeStatus status) => JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("node", status.Node);
            json.WriteBoolean("online", true);
            json.WriteNumber("tier", status.Tier);
            json.WriteString("version", status.Version);
            json.WriteStartArray("models");
            foreach (string model in status.Models)
            {
                json.WriteStringValue(model);
            }

            json.WriteEndArray();
            json.WriteNumber("queueDepth", status.QueueDepth);
            json.WriteNumber("uptimeSeconds", status.UptimeSeconds);
            json.WriteStartObject("counters");
            json.WriteNumber("answers", status.Answers);
            json.WriteStartObject("errors");
            foreach (var (code, count) in status.Errors)
            {
                json.WriteNumber(code, count);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        });

    public static byte[] Offline(NodeOptions node) => JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("node", node.Id);
            json.WriteBoolean("online", false);
            json.WriteNumber("tier", node.Tier);
            json.WriteEndObject();
        });
}
