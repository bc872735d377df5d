using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>A chunk of a streamed answer as docs/design.md §3a gives it, read by those who get one: a lower node, `edgellm ask`.</summary>
internal static class ChunkReader
{
    /// <summary>The chunk's seq and its text or heartbeat; null, with the problem, when the payload is not a chunk.</summary>
    public static (int Seq, UpstreamChunk? Chunk, string? Problem) Read(byte[] payload)
    {
        try
        {
            using var json = JsonPayload.Parse(payload);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("seq", out var seqValue) || !seqValue.TryGetInt32(out int seq) || seq < 0)
            {
                return (0, null, "it has no seq");
            }

            string? node = root.TryGetProperty("node", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (root.TryGetProperty("state", out var state) && state.ValueEquals(Chunk.PrefillState))
            {
                double progress = root.TryGetProperty("progress", out var p) && p.TryGetDouble(out double value) ? value : 0;
                return (seq, new UpstreamChunk(node, null, progress), null);
            }

            return root.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.String
                ? (seq, new UpstreamChunk(node, delta.GetString(), null), null)
                : (0, null, "it has neither a delta nor a state");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return (0, null, $"not a chunk ({e.Message})");
        }
    }
}
