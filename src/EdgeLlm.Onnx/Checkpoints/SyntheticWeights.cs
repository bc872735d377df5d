namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// Seeded random weights of a real model's shape, for benchmarks: the same seed gives the same bytes on
/// every machine, whatever order the tensors are read in.
/// </summary>
public sealed class SyntheticWeights : ILlamaWeights
{
    // Real dimensions of published models, with the byte vocabulary instead of the real one.
    private static readonly Dictionary<string, LlamaShape> KnownShapes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["stories260k"] = new(Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KvHeads: 4, VocabSize: Llama2cVocabulary.ByteVocabularySize, ContextLength: 512, SharedClassifier: true),
        ["stories15m"] = new(Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KvHeads: 6, VocabSize: Llama2cVocabulary.ByteVocabularySize, ContextLength: 256, SharedClassifier: true),
        ["smollm2-135m"] = new(Dim: 576, HiddenDim: 1536, Layers: 30, Heads: 9, KvHeads: 3, VocabSize: Llama2cVocabulary.ByteVocabularySize, ContextLength: 8192, SharedClassifier: true, RopeTheta: 100000f, InterleavedRotary: false),
        ["qwen2.5-0.5b"] = new(Dim: 896, HiddenDim: 4864, Layers: 24, Heads: 14, KvHeads: 2, VocabSize: Llama2cVocabulary.ByteVocabularySize, ContextLength: 32768, SharedClassifier: true, RopeTheta: 1000000f, InterleavedRotary: false, NormEpsilon: 1e-6f),
    };

    private readonly ulong _seed;

    public SyntheticWeights(string shapeName, ulong seed)
    {
        if (!KnownShapes.TryGetValue(shapeName, out var shape))
        {
            throw new ArgumentException($"unknown synthetic shape '{shapeName}' (known: {string.Join(", ", ShapeNames)})", nameof(shapeName));
        }

        Shape = shape;
        Source = $"synthetic {shapeName.ToLowerInvariant()} (seed {seed})";
        _seed = seed;
    }

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
        float bound = tensor == LlamaTensor.TokenEmbedding ? 1f : MathF.Sqrt(3f / columns);
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
