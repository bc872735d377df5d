using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>What a node advertises on edgellm/node/{nodeId}/status (retained).</summary>
/// <param name="Models">The models it answers with, with their domains as its catalog describes them.</param>
/// <param name="Pulls">The models it is pulling, with their progress.</param>
/// <param name="Loaded">Ids of the models in memory now.</param>
/// <param name="TokensPerSecond">The local model's recent speed after the first token; null before any generation.</param>
/// <param name="Counters">Answers, cancels, errors, decisions and reasons since start, and the last decisions.</param>
internal sealed record NodeStatus(
    string Node,
    int Tier,
    string Version,
    IReadOnlyList<CatalogModel> Models,
    IReadOnlyList<string> Loaded,
    int QueueDepth,
    long UptimeSeconds,
    double? TokensPerSecond,
    NodeCounters Counters,
    ResourceSnapshot Resources,
    IReadOnlyList<PullProgress> Pulls);

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
            json.WriteStartArray("loaded");
            foreach (string id in status.Loaded)
            {
                json.WriteStringValue(id);
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
            ReplyFormatter.WriteNumberOrNull(json, "tokensPerSecond", status.TokensPerSecond is double rate ? Math.Round(rate, 2) : null);
            WriteCounters(json, status.Counters);
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

    // Decisions and reasons let the fleet page show the share answered here and why the rest went up.
    private static void WriteCounters(Utf8JsonWriter json, NodeCounters counters)
    {
        json.WriteStartObject("counters");
        json.WriteNumber("answers", counters.Answers);
        json.WriteNumber("cancelled", counters.Cancelled);
        WriteCounts(json, "errors", counters.Errors());
        WriteCounts(json, "decisions", counters.Decisions());
        WriteCounts(json, "reasons", counters.Reasons());
        json.WriteEndObject();
        json.WriteStartArray("recent");
        foreach (var decision in counters.Recent.Snapshot())
        {
            json.WriteStartObject();
            json.WriteString("at", decision.At);
            json.WriteString("id", decision.RequestId);
            json.WriteString("decision", decision.Decision);
            json.WriteString("reasons", string.Join(",", decision.Reasons));
            json.WriteBoolean("degraded", decision.Degraded);
            json.WriteString("model", decision.Model);
            json.WriteString("error", decision.Error);
            ReplyFormatter.WriteNumberOrNull(json, "ms", decision.Milliseconds);
            ReplyFormatter.WriteNumberOrNull(json, "tokens", decision.Tokens);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteCounts(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, long> counts)
    {
        json.WriteStartObject(name);
        foreach (var (key, count) in counts)
        {
            json.WriteNumber(key, count);
        }

        json.WriteEndObject();
    }

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
