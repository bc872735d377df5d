using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Mqtt.Fleet;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>What the page reads: each node as {"id", "online", "lastSeen", "status"}, the status as the node advertised it.</summary>
internal static class FleetJson
{
    public static byte[] Node(FleetNode node) => JsonPayload.Write(json => Write(json, node));

    public static byte[] Gone(string id) => JsonPayload.Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteEndObject();
    });

    /// <summary>The whole fleet, and whether this page takes commands.</summary>
    public static byte[] Fleet(IReadOnlyList<FleetNode> nodes, bool commands) => JsonPayload.Write(json =>
    {
        json.WriteStartObject();
        json.WriteBoolean("commands", commands);
        json.WriteStartArray("nodes");
        foreach (var node in nodes)
        {
            Write(json, node);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    });

    private static void Write(Utf8JsonWriter json, FleetNode node)
    {
        json.WriteStartObject();
        json.WriteString("id", node.Id);
        json.WriteBoolean("online", node.Online);
        json.WriteString("lastSeen", node.LastSeen);
        // Checked, and written on one line, when it arrived (FleetWatcher).
        json.WritePropertyName("status");
        json.WriteRawValue(node.Status.Span, skipInputValidation: true);
        json.WriteEndObject();
    }
}
