using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// The models the node tests serve: stories260K int8 (real, fast) and synthetic smollm2-135m int4 (real
/// dimensions, some milliseconds a token: slow enough to keep a queue full).
/// </summary>
public sealed class NodeModels : IDisposable
{
    private readonly Stories260kModels _stories = new();
    private readonly TempDirectory _directory = new();
    private readonly Lazy<string> _slow;

    public NodeModels()
    {
        _slow = new Lazy<string>(() =>
        {
            string folder = _directory.Combine("smollm2-135m-int4");
            ModelFolderBuilder.Build(new SyntheticWeights("smollm2-135m", 1), Llama2cVocabulary.Bytes(), Quantization.Int4, folder, force: false);
            return folder;
        });
    }

    public string Stories => StoriesAs(Quantization.Int8);

    public string Slow => _slow.Value;

    /// <summary>stories260K built with <paramref name="quantization"/> (a folder named stories260k-{quantization}).</summary>
    public string StoriesAs(Quantization quantization) => _stories.Folder(quantization);

    /// <summary>What stories260K int8 answers <paramref name="prompt"/> with, greedily, run directly.</summary>
    public string StoriesContinuation(string prompt, int tokens)
    {
        using var model = LocalModel.Load(Stories);
        return model.Generate(model.Encode(prompt), new GenerationSettings { MaxNewTokens = tokens }).Text;
    }

    public void Dispose()
    {
        _stories.Dispose();
        _directory.Dispose();
    }
}
