using System.Text.Json.Nodes;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;
using EdgeLlm.Tests;
using EdgeLlm.Tests.HuggingFace;

namespace EdgeLlm.Onnx.Tests.HuggingFace;

/// <summary>
/// Each architecture's own parts (Qwen2's biases, Phi-3's fused matrices and LongRoPE, Llama 3's rope
/// scaling) on tiny random checkpoints, the built graph against <see cref="HfReferenceDecoder"/>.
/// </summary>
public sealed class HfArchitectureTests : IDisposable
{
    private const int Dim = 64, Hidden = 96, Layers = 2, Heads = 4, KvHeads = 2, Vocab = 512;
    private const int HeadSize = Dim / Heads, KvDim = KvHeads * HeadSize;

    private static readonly int[] Ids = [1, 403, 89, 260, 87, 15, 300, 33, 510, 7, 99, 256, 64, 32, 480, 12, 77, 18, 290, 5, 41, 333, 2, 150];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Qwen2_AddsItsQueryKeyAndValueBiases()
    {
        var tensors = RandomTensors(seed: 1, fused: false, biases: true, tied: true);
        var config = Config("Qwen2ForCausalLM", theta: 1_000_000, tied: true);

        AssertMatchesTheReference(config, tensors, new HfReferenceShape(Dim, Hidden, Layers, Heads, KvHeads, Vocab, 1_000_000, 1e-6, Fused: false, Biases: true, Tied: true, d => Plain(d, 1_000_000), 1));
    }

    [Fact]
    public void Llama32_ScalesItsRotaryFrequenciesAsLlama3Does()
    {
        var tensors = RandomTensors(seed: 2, fused: false, biases: false, tied: false);
        var config = Config("LlamaForCausalLM", theta: 500_000, tied: false);
        config["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 16 };

        AssertMatchesTheReference(config, tensors, new HfReferenceShape(Dim, Hidden, Layers, Heads, KvHeads, Vocab, 500_000, 1e-6, Fused: false, Biases: false, Tied: false, d => Llama3(d, 500_000, 8, 1, 4, 16), 1));
    }

    [Fact]
    public void Phi3_SplitsItsFusedMatrices_AndAppliesLongRope()
    {
        var tensors = RandomTensors(seed: 3, fused: true, biases: false, tied: false);
        var config = Config("Phi3ForCausalLM", theta: 10_000, tied: false);
        double[] shortFactors = [1.0, 1.1, 1.3, 1.6, 2.0, 2.6, 3.3, 4.0];
        config["original_max_position_embeddings"] = 32;
        config["rope_scaling"] = new JsonObject { ["type"] = "longrope", ["short_factor"] = new JsonArray([.. shortFactors.Select(f => (JsonNode)f)]), ["long_factor"] = new JsonArray([.. shortFactors.Select(f => (JsonNode)(f * 2))]) };
        double magnitude = Math.Sqrt(1 + Math.Log(128.0 / 32) / Math.Log(32));

        string folder = AssertMatchesTheReference(config, tensors, new HfReferenceShape(Dim, Hidden, Layers, Heads, KvHeads, Vocab, 10_000, 1e-6, Fused: true, Biases: false, Tied: false,
            d => [.. Plain(d, 10_000).Select((f, i) => f / shortFactors[i])], magnitude));
        // Past the original context the long factors would serve, which static caches cannot switch to.
        Assert.Equal(32, GenAiConfig.Read(folder).ContextLength);
    }

    [Fact]
    public void Mistral_AttendsNoFurtherThanItsSlidingWindow()
    {
        var config = Config("MistralForCausalLM", theta: 10_000, tied: false);
        config["sliding_window"] = 16;
        string hf = WriteFolder(config, RandomTensors(seed: 4, fused: false, biases: false, tied: false));

        Assert.Equal(16, HfModelConfig.Read(hf).Shape.ContextLength);
    }

    private string AssertMatchesTheReference(JsonObject config, Dictionary<string, float[]> tensors, HfReferenceShape reference)
    {
        string hf = WriteFolder(config, tensors);
        string folder = _temp.Combine("built");
        using (var checkpoint = HfCheckpoint.Open(hf))
        {
            ModelFolderBuilder.Build(checkpoint, HfTokenizer.Open(hf, checkpoint.Config), Quantization.Fp32, folder, force: false);
        }

        using var evaluator = new ModelEvaluator(folder);
        var built = evaluator.Evaluate(Ids);
        var expected = new HfReferenceDecoder(reference, tensors).Evaluate(Ids);

        Assert.Equal(expected.ArgMax, built.ArgMax);
        Assert.Equal(expected.MeanNegativeLogLikelihood, built.MeanNegativeLogLikelihood, 3);
        return folder;
    }

    private string WriteFolder(JsonObject config, Dictionary<string, float[]> tensors)
    {
        string hf = _temp.Combine("hf");
        HfFolders.Write(hf, config, [.. tensors.Select(t => new NamedTensor(t.Key, ShapeOf(t.Key, t.Value.Length), t.Value))]);
        Llama2cVocabulary.Read(StoriesFiles.Tokenizer, Vocab).WriteFiles(hf, 128);
        return hf;
    }

    private static JsonObject Config(string architecture, double theta, bool tied) => new()
    {
        ["architectures"] = new JsonArray(architecture),
        ["hidden_size"] = Dim,
        ["intermediate_size"] = Hidden,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KvHeads,
        ["vocab_size"] = Vocab,
        ["max_position_embeddings"] = 128,
        ["rms_norm_eps"] = 1e-6,
        ["rope_theta"] = theta,
        ["tie_word_embeddings"] = tied,
        ["hidden_act"] = "silu",
        ["eos_token_id"] = 2,
    };

    // Uniform weights scaled for unit-variance outputs, norms near 1, biases large enough to matter.
    private static Dictionary<string, float[]> RandomTensors(int seed, bool fused, bool biases, bool tied)
    {
        var random = new Random(seed);
        float[] Values(long count, double scale, double offset = 0) => [.. Enumerable.Range(0, (int)count).Select(_ => (float)(offset + (random.NextDouble() * 2 - 1) * scale))];
        double matrix = Math.Sqrt(3.0 / Dim);
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = Values((long)Vocab * Dim, 1),
            ["model.norm.weight"] = Values(Dim, 0.2, 1),
        };
        if (!tied)
        {
            tensors["lm_head.weight"] = Values((long)Vocab * Dim, matrix);
        }

        for (int layer = 0; layer < Layers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            tensors[prefix + "input_layernorm.weight"] = Values(Dim, 0.2, 1);
            tensors[prefix + "post_attention_layernorm.weight"] = Values(Dim, 0.2, 1);
            tensors[prefix + "self_attn.o_proj.weight"] = Values((long)Dim * Dim, matrix);
            tensors[prefix + "mlp.down_proj.weight"] = Values((long)Dim * Hidden, Math.Sqrt(3.0 / Hidden));
            if (fused)
            {
                tensors[prefix + "self_attn.qkv_proj.weight"] = Values((long)(Dim + 2 * KvDim) * Dim, matrix);
                tensors[prefix + "mlp.gate_up_proj.weight"] = Values(2L * Hidden * Dim, matrix);
            }
            else
            {
                tensors[prefix + "self_attn.q_proj.weight"] = Values((long)Dim * Dim, matrix);
                tensors[prefix + "self_attn.k_proj.weight"] = Values((long)KvDim * Dim, matrix);
                tensors[prefix + "self_attn.v_proj.weight"] = Values((long)KvDim * Dim, matrix);
                tensors[prefix + "mlp.gate_proj.weight"] = Values((long)Hidden * Dim, matrix);
                tensors[prefix + "mlp.up_proj.weight"] = Values((long)Hidden * Dim, matrix);
            }

            if (biases)
            {
                tensors[prefix + "self_attn.q_proj.bias"] = Values(Dim, 0.5);
                tensors[prefix + "self_attn.k_proj.bias"] = Values(KvDim, 0.5);
                tensors[prefix + "self_attn.v_proj.bias"] = Values(KvDim, 0.5);
            }
        }

        return tensors;
    }

    private static long[] ShapeOf(string name, long count) =>
        name.EndsWith("norm.weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal) ? [count]
        : name.Contains("down_proj", StringComparison.Ordinal) ? [Dim, Hidden]
        : [count / Dim, Dim];

    private static double[] Plain(int headSize, double theta) => [.. Enumerable.Range(0, headSize / 2).Select(i => 1 / Math.Pow(theta, 2.0 * i / headSize))];

    // transformers' _compute_llama3_parameters.
    private static double[] Llama3(int headSize, double theta, double factor, double low, double high, int original) =>
        [.. Plain(headSize, theta).Select(f =>
        {
            double wavelength = 2 * Math.PI / f;
            if (wavelength < original / high)
            {
                return f;
            }

            if (wavelength > original / low)
            {
                return f / factor;
            }

            double smooth = (original / wavelength - low) / (high - low);
            return (1 - smooth) * f / factor + smooth * f;
        })];
}
