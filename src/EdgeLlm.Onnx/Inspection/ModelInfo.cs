namespace EdgeLlm.Onnx.Inspection;

/// <summary>What a model folder holds, as `edgellm model info` prints it.</summary>
/// <param name="Parameters">Weights the model computes with, counting a quantized matrix by its logical size.</param>
/// <param name="Bytes">Bytes of every file in the folder.</param>
/// <param name="Quantization">fp32, fp16, int8 or int4 (MatMulNBits bits), or several joined by '+'.</param>
/// <param name="Contents">The sha256 of the files that identify the model: what a catalog entry's "contents" lists.</param>
public sealed record ModelInfo(
    string Model,
    string Type,
    long Parameters,
    long Bytes,
    string Quantization,
    int ContextLength,
    int VocabSize,
    int Layers,
    IReadOnlyDictionary<string, string> Contents);
