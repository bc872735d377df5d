using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLlm.Onnx.Inspection;

namespace EdgeLlm.Worker.Commands;

/// <summary>What `edgellm model eval` prints.</summary>
internal sealed record EvalOutput(string Model, int Tokens, IReadOnlyList<int> ArgMax, double MeanNll, double Perplexity);

/// <summary>Source-generated JSON for what the commands print, so that a trimmed build keeps working.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(EvalOutput))]
[JsonSerializable(typeof(List<ModelListEntry>))]
[JsonSerializable(typeof(StoredModelOutput))]
internal sealed partial class CliJson : JsonSerializerContext
{
    public static void Write<T>(TextWriter output, T value)
    {
        output.WriteLine(JsonSerializer.Serialize(value, typeof(T), Default));
    }
}
