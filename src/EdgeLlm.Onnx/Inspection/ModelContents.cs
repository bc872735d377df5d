using System.Security.Cryptography;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Onnx.Inspection;

/// <summary>
/// The files that make a model folder what it is, and their sha256, as a catalog entry's "contents" lists
/// them: genai_config.json, the decoder graph and its external data (model.onnx, model.onnx.data, …).
/// Tokenizer files and notes are left out: they may be edited without changing the model.
/// </summary>
public static class ModelContents
{
    /// <summary>The identifying files present in <paramref name="folder"/>, by name, in ordinal order.</summary>
    public static IReadOnlyList<string> IdentifyingFiles(string folder)
    {
        var config = GenAiConfig.Read(folder);
        return [.. new DirectoryInfo(folder).EnumerateFiles()
            .Select(f => f.Name)
            .Where(name => name == GenAiConfig.FileName || name == config.DecoderFile || name.StartsWith(config.DecoderFile + ".", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>Every identifying file of the folder with its sha256 (what `edgellm model info` prints for a catalog's "contents").</summary>
    public static IReadOnlyDictionary<string, string> Hashes(string folder) =>
        IdentifyingFiles(folder).ToDictionary(name => name, name => Sha256(Path.Combine(folder, name)), StringComparer.Ordinal);

    /// <summary>The file's sha256 as 64 lowercase hex digits; null when it cannot be read.</summary>
    public static string? TrySha256(string file)
    {
        try
        {
            return Sha256(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Sha256(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
