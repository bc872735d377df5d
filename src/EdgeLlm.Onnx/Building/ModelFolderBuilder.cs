using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using Google.Protobuf;

namespace EdgeLlm.Onnx.Building;

/// <summary>
/// Writes a model folder in the ONNX Runtime GenAI layout: genai_config.json, model.onnx (with
/// model.onnx.data when the weights are large), tokenizer.json and tokenizer_config.json (with what else
/// the tokenizer brings). The folder is
/// written beside its destination under a hidden name and moved into place only when complete, so a failed
/// or interrupted build leaves nothing behind under the destination's name.
/// </summary>
public static class ModelFolderBuilder
{
    public const string ModelFile = "model.onnx";
    public const string ExternalDataFile = "model.onnx.data";

    /// <summary>Models whose weights take more than this are written with external data, which ONNX Runtime maps rather than parses.</summary>
    public const long InlineWeightLimitBytes = 16L << 20;

    public static void Build(ILlamaWeights weights, IModelTokenizer tokenizer, Quantization quantization, string destination, bool force, CancellationToken cancellationToken = default)
    {
        tokenizer.CheckFits(weights.Shape, weights.Source);

        string target = Path.GetFullPath(destination);
        string parent = Path.GetDirectoryName(target) ?? throw new ModelFileException(destination, "cannot write a model folder at the file system root");
        string name = Path.GetFileName(target);
        if ((Directory.Exists(target) || File.Exists(target)) && !force)
        {
            throw new ModelFileException(destination, "already exists (pass --force to replace it)");
        }

        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{name}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            WriteFolder(weights, tokenizer, quantization, staging, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            MoveIntoPlace(staging, target, force);
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    private static void WriteFolder(ILlamaWeights weights, IModelTokenizer tokenizer, Quantization quantization, string folder, CancellationToken cancellationToken)
    {
        bool external = WeightBytes.Stored(weights.Shape, quantization) > InlineWeightLimitBytes;
        using (var graph = new OnnxGraphWriter("edgellm-llama", external ? Path.Combine(folder, ExternalDataFile) : null))
        {
            var model = LlamaGraphBuilder.Build(weights, quantization, graph, cancellationToken);
            using var stream = new FileStream(Path.Combine(folder, ModelFile), FileMode.CreateNew, FileAccess.Write);
            model.WriteTo(stream);
        }

        GenAiConfigWriter.Write(Path.Combine(folder, GenAiConfig.FileName), weights.Shape, tokenizer.SpecialTokens, ModelFile);
        tokenizer.WriteFiles(folder, weights.Shape.ContextLength);
    }

    private static void MoveIntoPlace(string staging, string target, bool force)
    {
        if (!force || !(Directory.Exists(target) || File.Exists(target)))
        {
            Directory.Move(staging, target);
            return;
        }

        // Swap: the old folder stays whole until the new one is complete beside it.
        string retired = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.replaced-{Guid.NewGuid():N}");
        if (Directory.Exists(target))
        {
            Directory.Move(target, retired);
            Directory.Move(staging, target);
            Directory.Delete(retired, recursive: true);
        }
        else
        {
            File.Move(target, retired);
            Directory.Move(staging, target);
            File.Delete(retired);
        }
    }
}
