namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// The tensors of a llama decoder. Matrices are row-major [out, in], as llama2.c and PyTorch store them; the
/// biases exist only when <see cref="LlamaShape.AttentionBias"/> says so.
/// </summary>
public enum LlamaTensor
{
    TokenEmbedding,
    AttentionNorm,
    QueryProjection,
    KeyProjection,
    ValueProjection,
    OutputProjection,
    FeedForwardNorm,
    GateProjection,
    DownProjection,
    UpProjection,
    FinalNorm,
    Classifier,
    QueryBias,
    KeyBias,
    ValueBias,
}

/// <summary>Shapes of <see cref="LlamaTensor"/> values for a given <see cref="LlamaShape"/>.</summary>
internal static class LlamaTensorShapes
{
    public static bool IsPerLayer(LlamaTensor tensor) =>
        tensor is not (LlamaTensor.TokenEmbedding or LlamaTensor.FinalNorm or LlamaTensor.Classifier);

    /// <summary>Rows and columns of the tensor (a vector has one row).</summary>
    public static (int Rows, int Columns) Of(LlamaShape shape, LlamaTensor tensor) => tensor switch
    {
        LlamaTensor.TokenEmbedding or LlamaTensor.Classifier => (shape.VocabSize, shape.Dim),
        LlamaTensor.AttentionNorm or LlamaTensor.FeedForwardNorm or LlamaTensor.FinalNorm or LlamaTensor.QueryBias => (1, shape.Dim),
        LlamaTensor.KeyBias or LlamaTensor.ValueBias => (1, shape.KvDim),
        LlamaTensor.QueryProjection or LlamaTensor.OutputProjection => (shape.Dim, shape.Dim),
        LlamaTensor.KeyProjection or LlamaTensor.ValueProjection => (shape.KvDim, shape.Dim),
        LlamaTensor.GateProjection or LlamaTensor.UpProjection => (shape.HiddenDim, shape.Dim),
        LlamaTensor.DownProjection => (shape.Dim, shape.HiddenDim),
        _ => throw new ArgumentOutOfRangeException(nameof(tensor), tensor, null),
    };

    public static long ElementCount(LlamaShape shape, LlamaTensor tensor)
    {
        var (rows, columns) = Of(shape, tensor);
        return (long)rows * columns;
    }
}
