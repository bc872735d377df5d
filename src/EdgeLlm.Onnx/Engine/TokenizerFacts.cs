using System.Text.Json;
using EdgeLlm.Core;

namespace EdgeLlm.Onnx.Engine;

/// <summary>
/// How a folder's tokenizer frames text, from tokenizer_config.json and tokenizer.json (Hugging Face
/// conventions), for what GenAI's tokenizer leaves to the caller.
/// </summary>
/// <param name="AddsBos">Prompts start with BOS (GenAI's Encode never adds it).</param>
/// <param name="HasChatTemplate">Chat messages are formatted by the tokenizer's template.</param>
/// <param name="DropsLeadingSpace">
/// Decoding drops the space that encoding put before the first word (SentencePiece's dummy prefix), which a
/// streaming decoder leaves on the first piece after BOS.
/// </param>
public sealed record TokenizerFacts(bool AddsBos, bool HasChatTemplate, bool DropsLeadingSpace)
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    // What GenAI's tokenizer reads. Handed another kind, GenAI 0.18 refuses it, but now and then crashes the
    // process instead (LocalModelTests): such a tokenizer is refused here, before GenAI sees it.
    private static readonly string[] RuntimeModelTypes = ["BPE", "Unigram", "WordPiece"];

    public static TokenizerFacts Read(string folder)
    {
        bool addsBos = false;
        bool hasChatTemplate = false;
        string configPath = Path.Combine(folder, TokenizerConfigFile);
        if (File.Exists(configPath))
        {
            using var config = Parse(configPath);
            var root = config.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFileException(configPath, "is not a JSON object");
            }

            addsBos = root.TryGetProperty("add_bos_token", out var add) && add.ValueKind == JsonValueKind.True;
            hasChatTemplate = root.TryGetProperty("chat_template", out var template) && template.ValueKind is JsonValueKind.String or JsonValueKind.Array;
        }

        bool dropsLeadingSpace = false;
        string tokenizerPath = Path.Combine(folder, TokenizerFile);
        if (File.Exists(tokenizerPath))
        {
            using var tokenizer = Parse(tokenizerPath);
            var root = tokenizer.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
                && model.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && !RuntimeModelTypes.Contains(type.GetString()!))
            {
                throw new ModelFileException(tokenizerPath, $"its model type {type.GetString()} is not one ONNX Runtime GenAI reads ({string.Join(", ", RuntimeModelTypes)})");
            }

            dropsLeadingSpace = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("decoder", out var decoder) && StripsLeadingSpace(decoder);
        }

        return new TokenizerFacts(addsBos, hasChatTemplate, dropsLeadingSpace);
    }

    private static bool StripsLeadingSpace(JsonElement decoder)
    {
        if (decoder.ValueKind != JsonValueKind.Object || !decoder.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        return type.GetString() switch
        {
            "Sequence" => decoder.TryGetProperty("decoders", out var decoders) && decoders.ValueKind == JsonValueKind.Array && decoders.EnumerateArray().Any(StripsLeadingSpace),
            "Strip" => decoder.TryGetProperty("start", out var start) && start.ValueKind == JsonValueKind.Number && start.TryGetInt32(out int count) && count > 0,
            // Metaspace decodes '▁' to spaces and drops the first one unless told never to add it.
            "Metaspace" => !(decoder.TryGetProperty("prepend_scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String && scheme.GetString() == "never")
                && !(decoder.TryGetProperty("add_prefix_space", out var add) && add.ValueKind == JsonValueKind.False),
            _ => false,
        };
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            return JsonPayload.Parse(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e.Message, e);
        }
    }
}
