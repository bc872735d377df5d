namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>The dimensions of a llama-architecture decoder.</summary>
/// <param name="SharedClassifier">True when the output classifier reuses the token embedding matrix.</param>
/// <param name="InterleavedRotary">
/// True when rotary embeddings rotate adjacent pairs (x[2i], x[2i+1]) as llama2.c does; false for the
/// rotate-half convention of Hugging Face checkpoints (pairs x[i], x[i + headSize/2]).
/// </param>
/// <param name="AttentionBias">True when the query, key and value projections add a bias (Qwen2).</param>
/// <param name="RopeScaling">How the rotary frequencies are stretched; null for none.</param>
public sealed record LlamaShape(
    int Dim,
    int HiddenDim,
    int Layers,
    int Heads,
    int KvHeads,
    int VocabSize,
    int ContextLength,
    bool SharedClassifier,
    float RopeTheta = 10000f,
    bool InterleavedRotary = true,
    float NormEpsilon = 1e-5f,
    bool AttentionBias = false,
    RopeScaling? RopeScaling = null)
{
    public int HeadSize => Dim / Heads;

    public int KvDim => KvHeads * HeadSize;

    /// <summary>Parameters of the attention and feed-forward matrices, the ones quantization compresses.</summary>
    public long ProjectionParameterCount =>
        Layers * ((long)Dim * Dim * 2              // wq, wo
            + (long)KvDim * Dim * 2                 // wk, wv
            + (long)HiddenDim * Dim * 3);           // w1, w2, w3

    /// <summary>Parameters of every tensor, counting a shared classifier once.</summary>
    public long ParameterCount
    {
        get
        {
            long embedding = (long)VocabSize * Dim;
            long norms = (2L * Layers + 1) * Dim;
            long biases = AttentionBias ? (long)Layers * (Dim + 2 * KvDim) : 0;
            return ProjectionParameterCount + embedding + norms + biases + (SharedClassifier ? 0 : embedding);
        }
    }

    /// <summary>The inverse frequency of each pair of a head's elements, with the scaling applied.</summary>
    public float[] RotaryFrequencies() => RopeScaling?.InverseFrequencies(HeadSize, RopeTheta) ?? RopeScaling.Plain(HeadSize, RopeTheta);

    /// <summary>Throws <see cref="ModelFileException"/> naming <paramref name="source"/> when the dimensions cannot describe a model.</summary>
    public void Validate(string source)
    {
        Require(Dim > 0 && HiddenDim > 0 && Layers > 0 && Heads > 0 && KvHeads > 0 && VocabSize > 0 && ContextLength > 0,
            $"every dimension must be positive (dim {Dim}, hidden {HiddenDim}, layers {Layers}, heads {Heads}, kv heads {KvHeads}, vocab {VocabSize}, context {ContextLength})");
        Require(Dim % Heads == 0, $"dim {Dim} is not a multiple of the {Heads} heads");
        Require(Heads % KvHeads == 0, $"{Heads} heads cannot be shared by {KvHeads} key/value heads");
        Require(HeadSize % 2 == 0, $"head size {HeadSize} is odd, so rotary embeddings cannot pair its elements");
        Require(Dim <= 65536 && HiddenDim <= 262144 && Layers <= 1024 && VocabSize <= 1 << 20 && ContextLength <= 1 << 20,
            "the dimensions are implausibly large (a corrupt header?)");

        void Require(bool condition, string problem)
        {
            if (!condition)
            {
                throw new ModelFileException(source, problem);
            }
        }
    }
}
