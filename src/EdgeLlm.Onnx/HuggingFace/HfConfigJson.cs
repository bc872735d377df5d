using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>The fields of a Hugging Face config.json that a llama-family decoder is read by, as written.</summary>
internal sealed class HfConfigJson
{
    public List<string>? Architectures { get; init; }

    public int? HiddenSize { get; init; }

    public int? IntermediateSize { get; init; }

    public int? NumHiddenLayers { get; init; }

    public int? NumAttentionHeads { get; init; }

    public int? NumKeyValueHeads { get; init; }

    public int? HeadDim { get; init; }

    public int? VocabSize { get; init; }

    public int? MaxPositionEmbeddings { get; init; }

    public int? OriginalMaxPositionEmbeddings { get; init; }

    public double? RmsNormEps { get; init; }

    public double? RopeTheta { get; init; }

    public HfRopeScalingJson? RopeScaling { get; init; }

    public double? PartialRotaryFactor { get; init; }

    public bool? TieWordEmbeddings { get; init; }

    public bool? AttentionBias { get; init; }

    public bool? MlpBias { get; init; }

    public string? HiddenAct { get; init; }

    public int? SlidingWindow { get; init; }

    public bool? UseSlidingWindow { get; init; }

    public int? BosTokenId { get; init; }

    /// <summary>An id or a list of ids.</summary>
    public JsonElement? EosTokenId { get; init; }

    public int? PadTokenId { get; init; }
}

/// <summary>config.json's "rope_scaling": "rope_type" (newer) or "type" (older) says which scheme the other fields are for.</summary>
internal sealed class HfRopeScalingJson
{
    public string? RopeType { get; init; }

    public string? Type { get; init; }

    public double? Factor { get; init; }

    public double? LowFreqFactor { get; init; }

    public double? HighFreqFactor { get; init; }

    public int? OriginalMaxPositionEmbeddings { get; init; }

    public List<double>? ShortFactor { get; init; }

    public List<double>? LongFactor { get; init; }
}

/// <summary>generation_config.json's ids: what ends a generation may differ from config.json (an instruct model's end of turn).</summary>
internal sealed class HfGenerationConfigJson
{
    public int? BosTokenId { get; init; }

    public JsonElement? EosTokenId { get; init; }

    public int? PadTokenId { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(HfConfigJson))]
[JsonSerializable(typeof(HfGenerationConfigJson))]
internal sealed partial class HfJson : JsonSerializerContext;
