using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.Tests.Building;

/// <summary>
/// Weights whose every prediction is <paramref name="predictedId"/>: zero projections leave each position's
/// embedding (all ones) unchanged, and only the classifier row of the predicted id is non-zero.
/// </summary>
internal sealed class ConstantWeights(int predictedId) : ILlamaWeights
{
    public LlamaShape Shape { get; } = new(Dim: 32, HiddenDim: 64, Layers: 2, Heads: 4, KvHeads: 2, VocabSize: Llama2cVocabulary.ByteVocabularySize, ContextLength: 64, SharedClassifier: false);

    public string Source => $"constant weights predicting {predictedId}";

    public float[] Read(LlamaTensor tensor, int layer)
    {
        var (rows, columns) = LlamaTensorShapes.Of(Shape, tensor);
        var values = new float[rows * columns];
        switch (tensor)
        {
            case LlamaTensor.TokenEmbedding:
            case LlamaTensor.AttentionNorm:
            case LlamaTensor.FeedForwardNorm:
            case LlamaTensor.FinalNorm:
                Array.Fill(values, 1f);
                break;
            case LlamaTensor.Classifier:
                values.AsSpan(predictedId * columns, columns).Fill(1f);
                break;
        }

        return values;
    }
}
