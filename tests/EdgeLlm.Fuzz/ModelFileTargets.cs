using System.Text;
using EdgeLlm.Onnx;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;

namespace EdgeLlm.Fuzz;

/// <summary>
/// The parsers of a pulled model's files (after their sha256 is checked, but a catalog entry or a hub repository
/// may name any file): each refuses what it cannot use with a <see cref="ModelFileException"/>, and what it
/// accepts is used as a conversion would use it (tensors read, tokenizer files written).
/// </summary>
internal static class ModelFileTargets
{
    // stories260K's: the tokenizers are checked against a vocabulary this size.
    private const int VocabularySize = 512;
    private const int ContextLength = 64;

    // The companions of a fuzzed file in its folder: the smallest that the parsers accept.
    private static readonly byte[] CompanionConfig = Encoding.UTF8.GetBytes($$"""
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 1,
         "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": {{VocabularySize}}, "max_position_embeddings": {{ContextLength}},
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2}
        """);

    private static readonly byte[] CompanionTokenizer = Encoding.UTF8.GetBytes("""
        {"model": {"type": "BPE", "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3}, "merges": []},
         "added_tokens": [{"id": 1, "content": "<s>"}, {"id": 2, "content": "</s>"}]}
        """);

    private static readonly byte[] CompanionTokenizerConfig = Encoding.UTF8.GetBytes("""
        {"add_bos_token": true, "bos_token": "<s>", "eos_token": "</s>", "chat_template": "{{ messages }}"}
        """);

    public static IEnumerable<FuzzTarget> All(ScratchFiles scratch) =>
    [
        new("llama2c-checkpoint", "a llama2.c checkpoint, legacy or version 1 (Llama2cCheckpoint)",
            input => Accepted(() => ReadEveryTensor(scratch.Write("llama2c-checkpoint", "model.bin", input)))),
        new("llama2c-tokenizer", "a llama2.c tokenizer.bin (Llama2cVocabulary), then its Hugging Face files written",
            input => Accepted(() => Llama2cVocabulary.Read(scratch.Write("llama2c-tokenizer", "tokenizer.bin", input), VocabularySize)
                .WriteFiles(scratch.EmptyFolder("llama2c-tokenizer"), ContextLength))),
        new("safetensors", "a .safetensors file's header, then the first row of each tensor (SafetensorsFile)",
            input => Accepted(() => ReadFirstRows(scratch.Write("safetensors", "model.safetensors", input)))),
        new("genai-config", "an ONNX Runtime GenAI model folder's genai_config.json (GenAiConfig)",
            input => Accepted(() => GenAiConfig.Read(FolderWith(scratch, "genai-config", "genai_config.json", input)))),
        new("hf-config", "a Hugging Face model folder's config.json (HfModelConfig)",
            input => Accepted(() => HfModelConfig.Read(FolderWith(scratch, "hf-config", HfModelConfig.FileName, input)))),
        new("hf-tokenizer", "a Hugging Face tokenizer.json (HfTokenizer), checked against the weights and written",
            input => Accepted(() => OpenTokenizer(scratch, "hf-tokenizer", TokenizerFacts.TokenizerFile, input))),
        new("hf-tokenizer-config", "a Hugging Face tokenizer_config.json, written into the converted folder (HfTokenizer)",
            input => Accepted(() => OpenTokenizer(scratch, "hf-tokenizer-config", TokenizerFacts.TokenizerConfigFile, input))),
        new("hf-generation-config", "a Hugging Face generation_config.json, for the ids that end a generation (HfTokenizer)",
            input => Accepted(() => OpenTokenizer(scratch, "hf-generation-config", HfTokenizer.GenerationConfigFile, input))),
        new("tokenizer-facts", "a model folder's tokenizer.json and tokenizer_config.json, as the engine reads them (TokenizerFacts)",
            input => Accepted(() =>
            {
                string folder = FolderWith(scratch, "tokenizer-facts", TokenizerFacts.TokenizerFile, input);
                File.WriteAllBytes(Path.Combine(folder, TokenizerFacts.TokenizerConfigFile), input);
                TokenizerFacts.Read(folder);
            })),
    ];

    private static bool Accepted(Action parse) => FuzzTarget.Accepted<ModelFileException>(parse);

    private static string FolderWith(ScratchFiles scratch, string target, string file, byte[] input) =>
        Path.GetDirectoryName(scratch.Write(target, file, input))!;

    private static void ReadEveryTensor(string path)
    {
        using var checkpoint = Llama2cCheckpoint.Open(path);
        foreach (var tensor in Enum.GetValues<LlamaTensor>().Where(t => checkpoint.Shape.AttentionBias || t is not (LlamaTensor.QueryBias or LlamaTensor.KeyBias or LlamaTensor.ValueBias)))
        {
            checkpoint.Read(tensor, checkpoint.Shape.Layers - 1);
        }
    }

    private static void ReadFirstRows(string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (var tensor in file.Tensors.Values)
        {
            file.ReadRows(tensor, 0, tensor.Shape is [0, ..] ? 0 : 1);
        }
    }

    // The folder holds the companions that the parser needs besides the fuzzed file, which replaces its own:
    // written at the target's first run only, as each target fuzzes the same one of them every time.
    private static void OpenTokenizer(ScratchFiles scratch, string target, string file, byte[] input)
    {
        string folder = scratch.Folder(target);
        if (!File.Exists(Path.Combine(folder, HfModelConfig.FileName)))
        {
            File.WriteAllBytes(Path.Combine(folder, HfModelConfig.FileName), CompanionConfig);
            File.WriteAllBytes(Path.Combine(folder, TokenizerFacts.TokenizerFile), CompanionTokenizer);
            File.WriteAllBytes(Path.Combine(folder, TokenizerFacts.TokenizerConfigFile), CompanionTokenizerConfig);
        }

        File.WriteAllBytes(Path.Combine(folder, file), input);
        var config = HfModelConfig.Read(folder);
        var tokenizer = HfTokenizer.Open(folder, config);
        tokenizer.CheckFits(config.Shape, "the weights");
        tokenizer.WriteFiles(scratch.EmptyFolder(target), ContextLength);
    }
}
