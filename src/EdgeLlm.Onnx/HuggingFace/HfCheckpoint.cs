using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.HuggingFace;

/// <summary>
/// The weights of a Hugging Face model folder: config.json and model.safetensors, or the shards that
/// model.safetensors.index.json names. Every tensor the decoder needs is checked at open (present, of the shape
/// config.json implies); reads are a tensor (or, of a fused matrix, its rows) at a time.
/// </summary>
public sealed class HfCheckpoint : ILlamaWeights, IDisposable
{
    public const string WeightsFile = "model.safetensors";
    public const string WeightsIndexFile = "model.safetensors.index.json";

    private readonly IReadOnlyList<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> _tensors;

    private HfCheckpoint(string folder, HfModelConfig config, IReadOnlyList<SafetensorsFile> files)
    {
        Source = folder;
        Config = config;
        _files = files;
        _tensors = new(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var tensor in file.Tensors.Values)
            {
                _tensors[tensor.Name] = (file, tensor);
            }
        }
    }

    public HfModelConfig Config { get; }

    public LlamaShape Shape => Config.Shape;

    public string Source { get; }

    public static HfCheckpoint Open(string folder)
    {
        var config = HfModelConfig.Read(folder);
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string file in WeightFiles(folder))
            {
                files.Add(SafetensorsFile.Open(Path.Combine(folder, file)));
            }

            var checkpoint = new HfCheckpoint(folder, config, files);
            checkpoint.CheckTensors();
            return checkpoint;
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    public float[] Read(LlamaTensor tensor, int layer)
    {
        var (name, firstRow) = Locate(tensor, layer);
        var (file, stored) = _tensors[name];
        return file.ReadRows(stored, firstRow, LlamaTensorShapes.Of(Shape, tensor).Rows);
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    // model.safetensors, or the files of the index's weight_map (plain names in the folder).
    private static string[] WeightFiles(string folder)
    {
        string index = Path.Combine(folder, WeightsIndexFile);
        if (!File.Exists(index))
        {
            return File.Exists(Path.Combine(folder, WeightsFile))
                ? [WeightsFile]
                : throw new ModelFileException(folder, $"has neither {WeightsFile} nor {WeightsIndexFile}");
        }

        try
        {
            using var document = JsonPayload.Parse(File.ReadAllBytes(index));
            string[] files = [.. document.RootElement.GetProperty("weight_map").EnumerateObject().Select(e => e.Value.GetString() ?? "").Distinct(StringComparer.Ordinal)];
            return files.All(f => f.Length > 0 && f == Path.GetFileName(f))
                ? files
                : throw new ModelFileException(index, "\"weight_map\" must name files of the folder");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            throw new ModelFileException(index, $"\"weight_map\" is missing or malformed ({e.Message})", e);
        }
    }

    // The tensor's name in the files and its first row there: a part of a fused matrix starts below the parts before it.
    private (string Name, long FirstRow) Locate(LlamaTensor tensor, int layer)
    {
        var shape = Shape;
        string prefix = $"model.layers.{layer}.";
        bool fused = Config.FusedProjections;
        return tensor switch
        {
            LlamaTensor.TokenEmbedding => ("model.embed_tokens.weight", 0),
            LlamaTensor.Classifier => shape.SharedClassifier ? ("model.embed_tokens.weight", 0) : ("lm_head.weight", 0),
            LlamaTensor.FinalNorm => ("model.norm.weight", 0),
            LlamaTensor.AttentionNorm => (prefix + "input_layernorm.weight", 0),
            LlamaTensor.FeedForwardNorm => (prefix + "post_attention_layernorm.weight", 0),
            LlamaTensor.OutputProjection => (prefix + "self_attn.o_proj.weight", 0),
            LlamaTensor.DownProjection => (prefix + "mlp.down_proj.weight", 0),
            LlamaTensor.QueryProjection when fused => (prefix + "self_attn.qkv_proj.weight", 0),
            LlamaTensor.KeyProjection when fused => (prefix + "self_attn.qkv_proj.weight", shape.Dim),
            LlamaTensor.ValueProjection when fused => (prefix + "self_attn.qkv_proj.weight", shape.Dim + shape.KvDim),
            LlamaTensor.GateProjection when fused => (prefix + "mlp.gate_up_proj.weight", 0),
            LlamaTensor.UpProjection when fused => (prefix + "mlp.gate_up_proj.weight", shape.HiddenDim),
            LlamaTensor.QueryProjection => (prefix + "self_attn.q_proj.weight", 0),
            LlamaTensor.KeyProjection => (prefix + "self_attn.k_proj.weight", 0),
            LlamaTensor.ValueProjection => (prefix + "self_attn.v_proj.weight", 0),
            LlamaTensor.GateProjection => (prefix + "mlp.gate_proj.weight", 0),
            LlamaTensor.UpProjection => (prefix + "mlp.up_proj.weight", 0),
            LlamaTensor.QueryBias => (prefix + "self_attn.q_proj.bias", 0),
            LlamaTensor.KeyBias => (prefix + "self_attn.k_proj.bias", 0),
            LlamaTensor.ValueBias => (prefix + "self_attn.v_proj.bias", 0),
            _ => throw new ArgumentOutOfRangeException(nameof(tensor), tensor, null),
        };
    }

    private void CheckTensors()
    {
        foreach (var (name, expected) in ExpectedTensors())
        {
            if (!_tensors.TryGetValue(name, out var found))
            {
                throw new ModelFileException(Source, $"has no tensor {name}, which a {Config.Architecture} of these dimensions needs");
            }

            if (!found.Tensor.Shape.SequenceEqual(expected))
            {
                throw new ModelFileException(found.File.Path, $"tensor {name} is [{string.Join(", ", found.Tensor.Shape)}], not [{string.Join(", ", expected)}] as {HfModelConfig.FileName} implies");
            }
        }
    }

    private IEnumerable<(string Name, long[] Shape)> ExpectedTensors()
    {
        var shape = Shape;
        long dim = shape.Dim, kv = shape.KvDim, hidden = shape.HiddenDim;
        yield return ("model.embed_tokens.weight", [shape.VocabSize, dim]);
        yield return ("model.norm.weight", [dim]);
        if (!shape.SharedClassifier)
        {
            yield return ("lm_head.weight", [shape.VocabSize, dim]);
        }

        for (int layer = 0; layer < shape.Layers; layer++)
        {
            string prefix = $"model.layers.{layer}.";
            yield return (prefix + "input_layernorm.weight", [dim]);
            yield return (prefix + "post_attention_layernorm.weight", [dim]);
            yield return (prefix + "self_attn.o_proj.weight", [dim, dim]);
            yield return (prefix + "mlp.down_proj.weight", [dim, hidden]);
            if (Config.FusedProjections)
            {
                yield return (prefix + "self_attn.qkv_proj.weight", [dim + 2 * kv, dim]);
                yield return (prefix + "mlp.gate_up_proj.weight", [2 * hidden, dim]);
            }
            else
            {
                yield return (prefix + "self_attn.q_proj.weight", [dim, dim]);
                yield return (prefix + "self_attn.k_proj.weight", [kv, dim]);
                yield return (prefix + "self_attn.v_proj.weight", [kv, dim]);
                yield return (prefix + "mlp.gate_proj.weight", [hidden, dim]);
                yield return (prefix + "mlp.up_proj.weight", [hidden, dim]);
            }

            if (shape.AttentionBias)
            {
                yield return (prefix + "self_attn.q_proj.bias", [dim]);
                yield return (prefix + "self_attn.k_proj.bias", [kv]);
                yield return (prefix + "self_attn.v_proj.bias", [kv]);
            }
        }
    }
}
