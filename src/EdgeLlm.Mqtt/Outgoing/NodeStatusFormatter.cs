using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>What a node advertises on edgellm/node/{nodeId}/status (retained).</summary>
/// <param name="Models">The models it answers with, with their domains as its catalog describes them.</param>
/// <param name="Pulls">The models it is pulling, with their progress.</param>
/// <param name="Cancelled">Answers cut short by a cancel or a requester gone (counted among the answers too).</param>
internal sealed record NodeStatus(
    string Node,
    int Tier,
    string Version,
    IReadOnlyList<CatalogModel> Models,
    int QueueDepth,
    long UptimeSeconds,
    long Answers,
    long Cancelled,
    IReadOnlyDictionary<string, long> Errors,
    ResourceSnapshot Resources,
    IReadOnlyList<Core.Processing.PullProgress> Pulls);

/// <summary>The status advertisement and the will message that replaces it when the node goes away.</summary>
internal static class NodeStatusFormatter
{
    public static byte[] Online(NodeStatus status) => JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("node", status.Node);
            json.WriteBoolean("online", true);
            json.WriteNumber("tier", status.Tier);
            json.WriteString("version", status.Version);
            json.WriteStartArray("models");
            foreach (var model in status.Models)
            {
                json.WriteStartObject();
                json.WriteString("id", model.Id);
                WriteQualities(json, "domains", model.Domains);
                WriteQualities(json, "subdomains", model.Subdomains);
                json.WriteBoolean("thirdParty", model.ThirdParty);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("pulls");
            foreach (var pull in status.Pulls)
            {
                json.WriteStartObject();
                json.WriteString("model", pull.ModelId);
                json.WriteString("source", pull.Source);
                json.WriteNumber("bytes", pull.Bytes);
                ReplyFormatter.WriteNumberOrNull(json, "totalBytes", pull.TotalBytes);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("queueDepth", status.QueueDepth);
            json.WriteNumber("uptimeSeconds", status.UptimeSeconds);
            json.WriteStartObject("counters");
            json.WriteNumber("answers", status.Answers);
            json.WriteNumber("cancelled", status.Cancelled);
            json.WriteStartObject("errors");
            foreach (var (code, count) in status.Errors)
            {
                json.WriteNumber(code, count);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WritePropertyName("resources");
            ResourceSnapshotJson.Write(json, status.Resources);
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

    private static void WriteQualities(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, double> qualities)
    {
        json.WriteStartObject(name);
        foreach (var (domain, quality) in qualities)
        {
            json.WriteNumber(domain, quality);
        }

        json.WriteEndObject();
    }
}
