using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>
/// A Hugging Face model folder's tokenizer, carried into the model folder as it is: tokenizer.json and
/// tokenizer_config.json (whose chat_template GenAI applies; a chat_template.jinja beside it is put there),
/// with special_tokens_map.json and generation_config.json when present. A generation ends at any of
/// generation_config.json's eos ids (an instruct model's end of turn), else config.json's.
/// </summary>
public sealed class HfTokenizer : IModelTokenizer
{
    public const string GenerationConfigFile = "generation_config.json";
    public const string ChatTemplateFile = "chat_template.jinja";
    private static readonly string[] CarriedFiles = ["special_tokens_map.json", GenerationConfigFile];

    private readonly string _folder;

    private HfTokenizer(string folder, SpecialTokenIds specialTokens, int count)
    {
        _folder = folder;
        SpecialTokens = specialTokens;
        Count = count;
    }

    public string Source => Path.Combine(_folder, TokenizerFacts.TokenizerFile);

    public SpecialTokenIds SpecialTokens { get; }

    /// <summary>Ids the tokenizer can produce: its vocabulary and added tokens (the model's may be padded past them).</summary>
    public int Count { get; }

    public static HfTokenizer Open(string folder, HfModelConfig config)
    {
        string configPath = Path.Combine(folder, TokenizerFacts.TokenizerConfigFile);
        if (!File.Exists(configPath))
        {
            throw new ModelFileException(configPath, "missing: the tokenizer's settings (and chat template) are needed beside tokenizer.json");
        }

        CheckIsObject(configPath);

        string generationPath = Path.Combine(folder, GenerationConfigFile);
        var generation = File.Exists(generationPath) ? HfFiles.Read(generationPath, HfJson.Default.HfGenerationConfigJson) : null;
        var generationEos = HfFiles.Ids(generation?.EosTokenId, generationPath, "eos_token_id");
        IReadOnlyList<int> eos = generationEos.Count > 0 ? generationEos : config.EosTokenIds;
        if (eos.Count == 0)
        {
            throw new ModelFileException(folder, $"names no eos_token_id in {GenerationConfigFile} or {HfModelConfig.FileName}: nothing would end a generation");
        }

        var special = new SpecialTokenIds(generation?.BosTokenId ?? config.BosTokenId, eos, generation?.PadTokenId ?? config.PadTokenId ?? eos[0]);
        return new HfTokenizer(folder, special, CountIds(Path.Combine(folder, TokenizerFacts.TokenizerFile)));
    }

    public void CheckFits(LlamaShape shape, string weightsSource)
    {
        if (Count > shape.VocabSize)
        {
            throw new ModelFileException(Source, $"has ids up to {Count - 1}, but {weightsSource} has a vocabulary of {shape.VocabSize}");
        }

        if (SpecialTokens.Eos.Append(SpecialTokens.Pad).FirstOrDefault(id => id < 0 || id >= shape.VocabSize, -1) is int outside and >= 0)
        {
            throw new ModelFileException(Source, $"special id {outside} is outside the vocabulary of {shape.VocabSize}");
        }
    }

    public void WriteFiles(string folder, int contextLength)
    {
        File.Copy(Source, Path.Combine(folder, TokenizerFacts.TokenizerFile));
        foreach (string file in CarriedFiles.Where(f => File.Exists(Path.Combine(_folder, f))))
        {
            File.Copy(Path.Combine(_folder, file), Path.Combine(folder, file));
        }

        WriteConfig(Path.Combine(folder, TokenizerFacts.TokenizerConfigFile));
    }

    // tokenizer_config.json as it is, but with chat_template.jinja's template when it has none of its own. Its
    // properties are copied as they come, not made a dictionary, which a name given twice would break.
    private void WriteConfig(string destination)
    {
        string source = Path.Combine(_folder, TokenizerFacts.TokenizerConfigFile);
        string template = Path.Combine(_folder, ChatTemplateFile);
        using var config = JsonPayload.Parse(File.ReadAllBytes(source));
        var root = config.RootElement;
        if (root.TryGetProperty("chat_template", out var own) && own.ValueKind != JsonValueKind.Null || !File.Exists(template))
        {
            File.Copy(source, destination);
            return;
        }

        File.WriteAllBytes(destination, JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            foreach (var property in root.EnumerateObject().Where(p => p.Name != "chat_template"))
            {
                property.WriteTo(json);
            }

            json.WriteString("chat_template", File.ReadAllText(template));
            json.WriteEndObject();
        }));
    }

    // Checked when the folder is opened, not first met when the converted folder is written.
    private static void CheckIsObject(string path)
    {
        try
        {
            using var config = JsonPayload.Parse(File.ReadAllBytes(path));
            if (config.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFileException(path, "is not a JSON object");
            }
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new ModelFileException(path, $"is not a JSON object ({e.Message})", e);
        }
    }

    // One past the highest id of the vocabulary (a BPE map of piece to id, or a Unigram list) and the added tokens.
    private static int CountIds(string path)
    {
        try
        {
            using var document = JsonPayload.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var vocabulary = root.GetProperty("model").GetProperty("vocab");
            int count = vocabulary.ValueKind == JsonValueKind.Object
                ? vocabulary.EnumerateObject().Select(e => e.Value.GetInt32() + 1).DefaultIfEmpty(0).Max()
                : vocabulary.GetArrayLength();
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            {
                count = Math.Max(count, added.EnumerateArray().Select(t => t.GetProperty("id").GetInt32() + 1).DefaultIfEmpty(0).Max());
            }

            return count;
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFileException(path, "missing: a Hugging Face model folder carries its tokenizer.json", e);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IOException)
        {
            throw new ModelFileException(path, $"is not a tokenizer.json with a \"model\" vocabulary ({e.Message})", e);
        }
    }
}
