using System.Runtime.InteropServices;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.Tests.Checkpoints;

/// <summary>Writes llama2.c checkpoints the way llama2.c's export.py does, to test the reader against other layouts.</summary>
internal static class Llama2cFiles
{
    private static readonly LlamaTensor[] PerLayerLegacyOrder =
    [
        LlamaTensor.AttentionNorm, LlamaTensor.QueryProjection, LlamaTensor.KeyProjection, LlamaTensor.ValueProjection,
        LlamaTensor.OutputProjection, LlamaTensor.FeedForwardNorm, LlamaTensor.GateProjection, LlamaTensor.DownProjection, LlamaTensor.UpProjection,
    ];

    /// <summary>export.py's version1_export: the "ak42" header, then norms, embedding and matrices grouped by kind.</summary>
    public static void WriteVersion1(ILlamaWeights weights, string path)
    {
        var shape = weights.Shape;
        using var file = new BinaryWriter(File.Create(path));
        file.Write(0x616b3432u);
        file.Write(1);
        WriteDims(file, shape, shape.VocabSize);
        file.Write((byte)(shape.SharedClassifier ? 1 : 0));
        file.Write(new byte[256 - file.BaseStream.Position]);
        WriteLayers(file, weights, LlamaTensor.AttentionNorm);
        WriteLayers(file, weights, LlamaTensor.FeedForwardNorm);
        Write(file, weights.Read(LlamaTensor.FinalNorm, 0));
        Write(file, weights.Read(LlamaTensor.TokenEmbedding, 0));
        foreach (var tensor in new[] { LlamaTensor.QueryProjection, LlamaTensor.KeyProjection, LlamaTensor.ValueProjection, LlamaTensor.OutputProjection, LlamaTensor.GateProjection, LlamaTensor.DownProjection, LlamaTensor.UpProjection })
        {
            WriteLayers(file, weights, tensor);
        }

        if (!shape.SharedClassifier)
        {
            Write(file, weights.Read(LlamaTensor.Classifier, 0));
        }
    }

    /// <summary>export.py's legacy_export: a negative vocabulary size marks a classifier of its own, written last.</summary>
    public static void WriteLegacy(ILlamaWeights weights, string path, float[]? classifier = null)
    {
        var shape = weights.Shape;
        using var file = new BinaryWriter(File.Create(path));
        WriteDims(file, shape, classifier is null ? shape.VocabSize : -shape.VocabSize);
        Write(file, weights.Read(LlamaTensor.TokenEmbedding, 0));
        foreach (var tensor in PerLayerLegacyOrder)
        {
            WriteLayers(file, weights, tensor);
        }

        Write(file, weights.Read(LlamaTensor.FinalNorm, 0));
        Write(file, new float[shape.ContextLength * shape.HeadSize]); // freq_cis_real and freq_cis_imag
        if (classifier is not null)
        {
            Write(file, classifier);
        }
    }

    private static void WriteDims(BinaryWriter file, LlamaShape shape, int vocabSize)
    {
        foreach (int value in new[] { shape.Dim, shape.HiddenDim, shape.Layers, shape.Heads, shape.KvHeads, vocabSize, shape.ContextLength })
        {
            file.Write(value);
        }
    }

    private static void WriteLayers(BinaryWriter file, ILlamaWeights weights, LlamaTensor tensor)
    {
        for (int layer = 0; layer < weights.Shape.Layers; layer++)
        {
            Write(file, weights.Read(tensor, layer));
        }
    }

    private static void Write(BinaryWriter file, float[] values) => file.Write(MemoryMarshal.AsBytes(values.AsSpan()));
}
