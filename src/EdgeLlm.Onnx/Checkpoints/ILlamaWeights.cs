namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// A source of llama weights, read one tensor at a time so that a model larger than the memory left on a
/// board can still be converted (each tensor is quantized and written before the next is read).
/// </summary>
public interface ILlamaWeights
{
    LlamaShape Shape { get; }

    /// <summary>Where the weights come from, for messages.</summary>
    string Source { get; }

    /// <summary>Reads one tensor; <paramref name="layer"/> is ignored for tensors that are not per layer.</summary>
    float[] Read(LlamaTensor tensor, int layer);
}
