using System.Text.Json;
using EdgeLlm.Core;

namespace EdgeLlm.Onnx.Engine;

/// <summary>What EdgeLlm reads from a model folder's genai_config.json.</summary>
public sealed record GenAiConfig(
    string ModelType,
    int ContextLength,
    int VocabSize,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds,
    string DecoderFile,
    int Layers,
    int KvHeads,
    int HeadSize,
    string InputIdsName,
    string AttentionMaskName,
    string? PositionIdsName,
    string PastKeyFormat,
    string PastValueFormat,
    string LogitsName)
{
    public const string FileName = "genai_config.json";

    public static GenAiConfig Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        JsonElement root;
        try
        {
            using var document = JsonPayload.Parse(File.ReadAllBytes(path));
            root = document.RootElement.Clone();
        }
        catch (FileNotFoundException)
        {
            throw new ModelFileException(path, "missing: not an ONNX Runtime GenAI model folder");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ModelFileException(folder, "no such model folder");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e.Message, e);
        }

        var reader = new Reader(path);
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFileException(path, "is not a JSON object");
        }

        var model = reader.Object(root, "model");
        var decoder = reader.Object(model, "decoder");
        var inputs = reader.Object(decoder, "inputs");
        var outputs = reader.Object(decoder, "outputs");
        return new GenAiConfig(
            ModelType: reader.String(model, "type"),
            ContextLength: reader.Int(model, "context_length"),
            VocabSize: reader.Int(model, "vocab_size"),
            BosTokenId: model.TryGetProperty("bos_token_id", out var bos) && bos.ValueKind == JsonValueKind.Number && bos.TryGetInt32(out int bosId) ? bosId : null,
            EosTokenIds: reader.IntOrInts(model, "eos_token_id"),
            DecoderFile: reader.String(decoder, "filename"),
            Layers: reader.Int(decoder, "num_hidden_layers"),
            KvHeads: reader.Int(decoder, "num_key_value_heads"),
            HeadSize: reader.Int(decoder, "head_size"),
            InputIdsName: reader.String(inputs, "input_ids"),
            AttentionMaskName: reader.String(inputs, "attention_mask"),
            PositionIdsName: inputs.TryGetProperty("position_ids", out _) ? reader.String(inputs, "position_ids") : null,
            PastKeyFormat: reader.String(inputs, "past_key_names"),
            PastValueFormat: reader.String(inputs, "past_value_names"),
            LogitsName: reader.String(outputs, "logits"));
    }

    /// <summary>The name of layer <paramref name="layer"/>'s tensor in a "%d" name format.</summary>
    public static string LayerName(string format, int layer) =>
        format.Replace("%d", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private readonly struct Reader(string path)
    {
        public JsonElement Object(JsonElement parent, string name) =>
            parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : throw Missing(name, "an object");

        public string String(JsonElement parent, string name) =>
            parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Missing(name, "a string");

        public int Int(JsonElement parent, string name) =>
            parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number) ? number : throw Missing(name, "an integer");

        public int[] IntOrInts(JsonElement parent, string name)
        {
            if (parent.TryGetProperty(name, out var value))
            {
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int single))
                {
                    return [single];
                }

                if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)))
                {
                    return value.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                }
            }

            throw Missing(name, "an integer or an array of integers");
        }

        private ModelFileException Missing(string name, string kind) => new(path, $"\"{name}\" is missing or not {kind}");
    }
}
