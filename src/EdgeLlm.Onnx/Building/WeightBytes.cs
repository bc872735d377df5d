using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.Building;

/// <summary>
/// What the weights of a model that <see cref="LlamaGraphBuilder"/> writes take: on disk, and read from memory
/// for each generated token (the figure that bounds the decode rate on a board, whose memory bandwidth is the
/// limit). Rotary tables are left out: they are computed from the shape, and a token reads one row of them.
/// </summary>
public static class WeightBytes
{
    /// <summary>Bytes of the stored weights.</summary>
    public static long Stored(LlamaShape shape, Quantization quantization)
    {
        long embedding = (long)shape.VocabSize * shape.Dim;
        long stored = Projections(shape, quantization) + SmallTensors(shape);
        if (quantization.Bits() is not int bits)
        {
            return stored + embedding * sizeof(float) * (shape.SharedClassifier ? 1 : 2);
        }

        // The lookup's table, and the classifier in MatMulNBits' blocks whether or not it shares the embedding's values.
        long table = Quantized(shape.VocabSize, shape.Dim, bits);
        return stored + (EmbeddingIsQuantized(shape) ? table : embedding * sizeof(float)) + table;
    }

    /// <summary>Bytes read per generated token: every projection, the norms and the classifier whole; one embedding row.</summary>
    public static long ReadPerToken(LlamaShape shape, Quantization quantization)
    {
        long classifierBytes = quantization.Bits() is int bits ? Quantized(shape.VocabSize, shape.Dim, bits) : (long)shape.VocabSize * shape.Dim * sizeof(float);
        return Projections(shape, quantization) + SmallTensors(shape) + classifierBytes;
    }

    /// <summary>True when a quantized build stores the embedding in blocks (its width a whole number of them), false when it stays float32.</summary>
    internal static bool EmbeddingIsQuantized(LlamaShape shape) => shape.Dim % BlockQuantizer.BlockSize == 0;

    // q, k and v stacked, o, gate and up stacked, down: each row in whole blocks.
    private static long Projections(LlamaShape shape, Quantization quantization) =>
        quantization.Bits() is int bits
            ? shape.Layers * (Quantized(shape.Dim + 2 * shape.KvDim, shape.Dim, bits) + Quantized(shape.Dim, shape.Dim, bits)
                + Quantized(2 * shape.HiddenDim, shape.Dim, bits) + Quantized(shape.Dim, shape.HiddenDim, bits))
            : shape.ProjectionParameterCount * sizeof(float);

    // Norms and biases, float32 in every build.
    private static long SmallTensors(LlamaShape shape) =>
        (shape.ParameterCount - shape.ProjectionParameterCount - (long)shape.VocabSize * shape.Dim * (shape.SharedClassifier ? 1 : 2)) * sizeof(float);

    // Packed values and a float32 scale per block, a row's last block padded.
    private static long Quantized(int rows, int columns, int bits)
    {
        long blocks = (long)rows * ((columns + BlockQuantizer.BlockSize - 1) / BlockQuantizer.BlockSize);
        return blocks * (BlockQuantizer.BlockSize * bits / 8 + sizeof(float));
    }
}
