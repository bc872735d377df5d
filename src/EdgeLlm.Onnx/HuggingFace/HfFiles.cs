using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>Reading the small JSON files of a Hugging Face model folder, each fault a <see cref="ModelFileException"/> naming the file.</summary>
internal static class HfFiles
{
    public static T? Read<T>(string path, JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), type);
        }
        catch (FileNotFoundException)
        {
            throw new ModelFileException(path, "missing: not a Hugging Face model folder");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ModelFileException(Path.GetDirectoryName(path) ?? path, "no such folder");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, e.Path is { Length: > 1 } field ? $"\"{field[2..]}\" has a value of the wrong kind ({e.Message})" : $"not valid JSON ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e.Message, e);
        }
    }

    /// <summary>An id or a list of ids (eos_token_id is either); none when absent.</summary>
    public static IReadOnlyList<int> Ids(JsonElement? value, string path, string field) => value switch
    {
        null or { ValueKind: JsonValueKind.Null } => [],
        { ValueKind: JsonValueKind.Number } single when single.TryGetInt32(out int id) => [id],
        { ValueKind: JsonValueKind.Array } list when list.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)) => [.. list.EnumerateArray().Select(e => e.GetInt32())],
        _ => throw new ModelFileException(path, $"\"{field}\" must be an id or a list of ids"),
    };
}
