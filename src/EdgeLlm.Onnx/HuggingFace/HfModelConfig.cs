using System.Globalization;
using System.Text.Json;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>
/// A Hugging Face model folder's config.json read as a llama-family decoder: Llama (3.x with its rope
/// scaling), Qwen2 (q/k/v biases), Mistral and Phi-3 (fused qkv and gate_up projections, LongRoPE). Anything
/// else is a <see cref="ModelFileException"/> naming the field.
/// </summary>
/// <param name="FusedProjections">q, k and v are one matrix (qkv_proj), as are gate and up (gate_up_proj).</param>
public sealed record HfModelConfig(string Architecture, LlamaShape Shape, bool FusedProjections, int? BosTokenId, IReadOnlyList<int> EosTokenIds, int? PadTokenId)
{
    public const string FileName = "config.json";
    public const string Llama = "LlamaForCausalLM";
    public const string Qwen2 = "Qwen2ForCausalLM";
    public const string Mistral = "MistralForCausalLM";
    public const string Phi3 = "Phi3ForCausalLM";

    public static IReadOnlyList<string> Architectures { get; } = [Llama, Qwen2, Mistral, Phi3];

    public static HfModelConfig Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        var json = HfFiles.Read(path, HfJson.Default.HfConfigJson) ?? throw new ModelFileException(path, "is null, not a model configuration");
        var fields = new Fields(path);

        string architecture = json.Architectures is [string single] ? single : throw fields.Fail("architectures", "must name one architecture");
        if (!Architectures.Contains(architecture))
        {
            throw fields.Fail("architectures", $"{architecture} is not one of {string.Join(", ", Architectures)}");
        }

        if (json.HiddenAct is not (null or "silu"))
        {
            throw fields.Fail("hidden_act", $"{json.HiddenAct} is not silu, the activation of a llama-family decoder");
        }

        if (json.MlpBias == true)
        {
            throw fields.Fail("mlp_bias", "is true: feed-forward biases are not supported");
        }

        if (json.PartialRotaryFactor is double partial && partial != 1)
        {
            throw fields.Fail("partial_rotary_factor", $"is {partial.ToString(CultureInfo.InvariantCulture)}: only rotary embeddings over the whole head are supported");
        }

        int dim = fields.Positive("hidden_size", json.HiddenSize);
        int heads = fields.Positive("num_attention_heads", json.NumAttentionHeads);
        if (json.HeadDim is int headDim && headDim * heads != dim)
        {
            throw fields.Fail("head_dim", $"{headDim} × {heads} heads is not hidden_size {dim}: heads of another width are not supported");
        }

        int context = fields.Positive("max_position_embeddings", json.MaxPositionEmbeddings);
        var scaling = RopeScaling(json, fields, ref context);
        // A sliding window shorter than the context is the context this decoder can attend over (Mistral 7B v0.1).
        if (json.SlidingWindow is int window && window > 0 && window < context && (architecture == Mistral || json.UseSlidingWindow == true))
        {
            context = window;
        }

        var shape = new LlamaShape(
            Dim: dim,
            HiddenDim: fields.Positive("intermediate_size", json.IntermediateSize),
            Layers: fields.Positive("num_hidden_layers", json.NumHiddenLayers),
            Heads: heads,
            KvHeads: json.NumKeyValueHeads ?? heads,
            VocabSize: fields.Positive("vocab_size", json.VocabSize),
            ContextLength: context,
            SharedClassifier: json.TieWordEmbeddings ?? false,
            RopeTheta: (float)(json.RopeTheta ?? 10000),
            InterleavedRotary: false,
            NormEpsilon: (float)(json.RmsNormEps ?? 1e-6),
            AttentionBias: architecture == Qwen2 || json.AttentionBias == true,
            RopeScaling: scaling);
        shape.Validate(path);
        return new HfModelConfig(architecture, shape, architecture == Phi3, json.BosTokenId, HfFiles.Ids(json.EosTokenId, path, "eos_token_id"), json.PadTokenId);
    }

    // LongRoPE's long factors serve past the original context, which the static caches cannot switch to: the
    // context stays the original one, with the short factors (docs/local-tier.md).
    private static RopeScaling? RopeScaling(HfConfigJson json, Fields fields, ref int context)
    {
        if (json.RopeScaling is not { } scaling)
        {
            return null;
        }

        string kind = scaling.RopeType ?? scaling.Type ?? "default";
        switch (kind)
        {
            case "default":
                return null;
            case "llama3":
                return new Llama3RopeScaling(
                    (float)fields.Required("rope_scaling.factor", scaling.Factor),
                    (float)fields.Required("rope_scaling.low_freq_factor", scaling.LowFreqFactor),
                    (float)fields.Required("rope_scaling.high_freq_factor", scaling.HighFreqFactor),
                    fields.Positive("rope_scaling.original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings));
            case "longrope" or "su":
                int original = fields.Positive("original_max_position_embeddings", json.OriginalMaxPositionEmbeddings ?? scaling.OriginalMaxPositionEmbeddings);
                int heads = json.NumAttentionHeads ?? 1;
                int pairs = (json.HiddenSize ?? 0) / heads / 2;
                if (scaling.ShortFactor is not { } factors || factors.Count != pairs)
                {
                    throw fields.Fail("rope_scaling.short_factor", $"must list {pairs} factors, one per pair of a head's elements");
                }

                var longRope = new LongRopeScaling([.. factors.Select(f => (float)f)], context, original);
                context = Math.Min(context, original);
                return longRope;
            default:
                throw fields.Fail("rope_scaling", $"type {kind} is not supported (llama3 and longrope are)");
        }
    }

    private readonly struct Fields(string path)
    {
        public ModelFileException Fail(string field, string problem) => new(path, $"\"{field}\" {problem}");

        public int Positive(string field, int? value) => value is int number and > 0 ? number : throw Fail(field, "is missing or not a positive whole number");

        public double Required(string field, double? value) => value ?? throw Fail(field, "is missing");
    }
}
