using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLlm.Onnx.Store;

/// <summary>One file a model was made from: its sha256, and what verified it.</summary>
public sealed record ReceiptFile(string Sha256, string VerifiedBy);

/// <summary>
/// Where a model folder came from, kept in it as edgellm-source.json: the hub repository, the revision asked
/// for and the commit it resolved to, and each file's sha256 with what verified it. `edgellm model list`
/// shows it.
/// </summary>
public sealed record SourceReceipt(string Source, string Revision, string Commit, IReadOnlyDictionary<string, ReceiptFile> Files)
{
    public const string FileName = "edgellm-source.json";

    public void Write(string folder) => File.WriteAllBytes(Path.Combine(folder, FileName), JsonSerializer.SerializeToUtf8Bytes(this, ReceiptJson.Default.SourceReceipt));

    /// <summary>The folder's receipt; null when it has none (or an unreadable one).</summary>
    public static SourceReceipt? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), ReceiptJson.Default.SourceReceipt) : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(SourceReceipt))]
internal sealed partial class ReceiptJson : JsonSerializerContext;
