namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// Seeded random weights of a real model's shape, for benchmarks: the same seed gives the same bytes on
/// every machine, whatever order the tensors are read in.
/// </summary>
public sealed class SyntheticWeights : ILlamaWeights
{
    // Real dimensions of published models (their config.json), each with its real vocabulary size; the byte
    // vocabulary replaces it unless asked for. Rope scaling is left out: it changes the rotary tables' values,
    // not what a token costs.
    private static readonly Dictionary<string, LlamaShape> KnownShapes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["stories260k"] = new(Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KvHeads: 4, VocabSize: 512, ContextLength: 512, SharedClassifier: true),
        ["stories15m"] = new(Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KvHeads: 6, VocabSize: 32000, ContextLength: 256, SharedClassifier: true),
        ["smollm2-135m"] = new(Dim: 576, HiddenDim: 1536, Layers: 30, Heads: 9, KvHeads: 3, VocabSize: 49152, ContextLength: 8192, SharedClassifier: true, RopeTheta: 100000f, InterleavedRotary: false),
        ["smollm2-360m"] = new(Dim: 960, HiddenDim: 2560, Layers: 32, Heads: 15, KvHeads: 5, VocabSize: 49152, ContextLength: 8192, SharedClassifier: true, RopeTheta: 100000f, InterleavedRotary: false),
        ["smollm2-1.7b"] = new(Dim: 2048, HiddenDim: 8192, Layers: 24, Heads: 32, KvHeads: 32, VocabSize: 49152, ContextLength: 8192, SharedClassifier: true, RopeTheta: 130000f, InterleavedRotary: false),
        ["qwen2.5-0.5b"] = new(Dim: 896, HiddenDim: 4864, Layers: 24, Heads: 14, KvHeads: 2, VocabSize: 151936, ContextLength: 32768, SharedClassifier: true, RopeTheta: 1000000f, InterleavedRotary: false, NormEpsilon: 1e-6f, AttentionBias: true),
        ["qwen2.5-1.5b"] = new(Dim: 1536, HiddenDim: 8960, Layers: 28, Heads: 12, KvHeads: 2, VocabSize: 151936, ContextLength: 32768, SharedClassifier: true, RopeTheta: 1000000f, InterleavedRotary: false, NormEpsilon: 1e-6f, AttentionBias: true),
        ["llama3.2-1b"] = new(Dim: 2048, HiddenDim: 8192, Layers: 16, Heads: 32, KvHeads: 8, VocabSize: 128256, ContextLength: 131072, SharedClassifier: true, RopeTheta: 500000f, InterleavedRotary: false),
        ["phi3.5-mini"] = new(Dim: 3072, HiddenDim: 8192, Layers: 32, Heads: 32, KvHeads: 32, VocabSize: 32064, ContextLength: 131072, SharedClassifier: false, InterleavedRotary: false),
    };

    private readonly ulong _seed;

    /// <param name="realVocabulary">
    /// True for the model's own vocabulary size (what the embedding and classifier of the real model cost),
    /// false for <see cref="Llama2cVocabulary.ByteVocabularySize"/> tokens.
    /// </param>
    public SyntheticWeights(string shapeName, ulong seed, bool realVocabulary = false)
    {
        if (!KnownShapes.TryGetValue(shapeName, out var shape))
        {
            throw new ArgumentException($"unknown synthetic shape '{shapeName}' (known: {string.Join(", ", ShapeNames)})", nameof(shapeName));
        }

        Shape = realVocabulary ? shape : shape with { VocabSize = Llama2cVocabulary.ByteVocabularySize };
        Source = $"synthetic {shapeName.ToLowerInvariant()}{(realVocabulary ? $" with its {shape.VocabSize}-token vocabulary" : "")} (seed {seed})";
        _seed = seed;
    }

    /// <summary>The shape a name stands for, with its real vocabulary size.</summary>
    public static LlamaShape? ShapeOf(string shapeName) => KnownShapes.GetValueOrDefault(shapeName);

    public static IEnumerable<string> ShapeNames => KnownShapes.Keys;

    public LlamaShape Shape { get; }

    public string Source { get; }

    public float[] Read(LlamaTensor tensor, int layer)
    {
        if (tensor == LlamaTensor.Classifier && Shape.SharedClassifier)
        {
            tensor = LlamaTensor.TokenEmbedding;
        }

        var (rows, columns) = LlamaTensorShapes.Of(Shape, tensor);
        var values = new float[(long)rows * columns];
        if (tensor is LlamaTensor.AttentionNorm or LlamaTensor.FeedForwardNorm or LlamaTensor.FinalNorm)
        {
            Array.Fill(values, 1f);
            return values;
        }

        // Uniform with unit output variance for a unit-variance input: a stable forward pass at any depth.
        // Biases get the same bound as their matrix's entries.
        float bound = tensor == LlamaTensor.TokenEmbedding ? 1f : MathF.Sqrt(3f / (rows == 1 ? Shape.Dim : columns));
        var random = new SplitMix64(_seed ^ ((ulong)tensor << 48) ^ ((ulong)(layer + 1) << 32));
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (random.NextUnitFloat() * 2f - 1f) * bound;
        }

        return values;
    }

    /// <summary>Steele, Lea and Flood's SplitMix64: tiny, fast and fixed, unlike System.Random's seeded sequence.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public float NextUnitFloat()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 40) * (1f / (1 << 24));
        }
    }
}
