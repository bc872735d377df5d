using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Ir;
using Google.Protobuf;

namespace EdgeLlm.Onnx.Inspection;

/// <summary>Reads a model folder's facts from its genai_config.json and its ONNX graph, without loading the weights (they are only hashed).</summary>
public static class ModelInspector
{
    private const string MatMulNBits = "MatMulNBits";
    private const string GatherBlockQuantized = "GatherBlockQuantized";

    // Inputs of these operators are tables computed from the architecture, not learned parameters.
    private static readonly HashSet<string> CacheConsumers = ["RotaryEmbedding", "GroupQueryAttention"];

    public static ModelInfo Inspect(string folder)
    {
        var config = GenAiConfig.Read(folder);
        string modelPath = Path.Combine(folder, config.DecoderFile);
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(modelPath);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException)
        {
            throw new ModelFileException(modelPath, e is InvalidProtocolBufferException ? $"not an ONNX model ({e.Message})" : e.Message, e);
        }

        var graph = model.Graph ?? throw new ModelFileException(modelPath, "holds no graph");
        // A quantized classifier that holds the embedding's values is one set of parameters stored twice.
        bool sharedClassifier = model.MetadataProps.Any(p => p.Key == Building.LlamaGraphBuilder.SharedClassifierKey && p.Value == "true");
        var (parameters, quantization) = CountParameters(graph, sharedClassifier ? Building.LlamaGraphBuilder.QuantizedClassifier : null);
        long bytes = Store.ByteSizes.OfFolder(folder);
        return new ModelInfo(LocalModel.IdOf(folder), config.ModelType, parameters, bytes, quantization, config.ContextLength, config.VocabSize, config.Layers, ModelContents.Hashes(folder));
    }

    private static (long Parameters, string Quantization) CountParameters(GraphProto graph, string? copyOfTheEmbedding)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var counted = copyOfTheEmbedding is null ? new HashSet<string>() : [copyOfTheEmbedding];
        var quantizedFormats = new SortedSet<string>(StringComparer.Ordinal);
        var floatFormats = new SortedSet<string>(StringComparer.Ordinal);
        long parameters = 0;

        foreach (var node in graph.Node)
        {
            if (node.OpType == MatMulNBits)
            {
                // Inputs: A, packed B, scales, zero points...; the packed matrix stands for N x K weights.
                long k = node.Attribute.First(a => a.Name == "K").I;
                long n = node.Attribute.First(a => a.Name == "N").I;
                long bits = node.Attribute.FirstOrDefault(a => a.Name == "bits")?.I ?? 4;
                if (node.Input.Count > 1 && counted.Add(node.Input[1]))
                {
                    parameters += k * n;
                    quantizedFormats.Add($"int{bits}");
                }

                // Scales, zero points and group indices describe the matrix; a bias (input 5) is parameters of its own.
                counted.UnionWith(node.Input.Skip(2).Take(3));
            }
            else if (node.OpType == GatherBlockQuantized && initializers.TryGetValue(node.Input[0], out var data))
            {
                // Inputs: packed data (uint8, 8 / bits values a byte), indices, scales, zero points.
                long bits = node.Attribute.FirstOrDefault(a => a.Name == "bits")?.I ?? 4;
                if (counted.Add(data.Name))
                {
                    parameters += data.Dims.Aggregate(1L, (product, dim) => product * dim) * 8 / bits;
                    quantizedFormats.Add($"int{bits}");
                }

                counted.UnionWith(node.Input.Skip(2));
            }
            else if (CacheConsumers.Contains(node.OpType))
            {
                counted.UnionWith(node.Input.Where(initializers.ContainsKey));
            }
        }

        foreach (var tensor in graph.Initializer)
        {
            long elements = tensor.Dims.Aggregate(1L, (product, dim) => product * dim);
            if (!counted.Contains(tensor.Name) && FloatFormat(tensor.DataType) is string format && elements > 1)
            {
                parameters += elements;
                floatFormats.Add(format);
            }
        }

        // A quantized model keeps its norms in float: its matrices name its format.
        var formats = quantizedFormats.Count > 0 ? quantizedFormats : floatFormats;
        return (parameters, formats.Count == 0 ? "unknown" : string.Join('+', formats));
    }

    private static string? FloatFormat(int dataType) => (TensorProto.Types.DataType)dataType switch
    {
        TensorProto.Types.DataType.Float => "fp32",
        TensorProto.Types.DataType.Float16 => "fp16",
        TensorProto.Types.DataType.Double => "fp64",
        TensorProto.Types.DataType.Bfloat16 => "bf16",
        _ => null,
    };
}
