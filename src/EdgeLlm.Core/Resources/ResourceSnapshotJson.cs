using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLlm.Core.Resources;

/// <summary>The snapshot as JSON: what `edgellm status` prints, `recommend --snapshot` reads and the status advertisement carries.</summary>
public static class ResourceSnapshotJson
{
    public static byte[] Serialize(ResourceSnapshot snapshot) => JsonSerializer.SerializeToUtf8Bytes(snapshot, SnapshotJsonContext.Default.ResourceSnapshot);

    public static void Write(Utf8JsonWriter json, ResourceSnapshot snapshot) => JsonSerializer.Serialize(json, snapshot, SnapshotJsonContext.Default.ResourceSnapshot);

    /// <exception cref="JsonException">The text is not a snapshot.</exception>
    public static ResourceSnapshot Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, SnapshotJsonContext.Default.ResourceSnapshot) ?? throw new JsonException("null is not a snapshot");

    public static ResourceSnapshot Deserialize(JsonElement json) =>
        json.Deserialize(SnapshotJsonContext.Default.ResourceSnapshot) ?? throw new JsonException("null is not a snapshot");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ResourceSnapshot))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
