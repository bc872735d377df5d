using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Tests;

/// <summary>stories260K built once per test class in each quantization, from the repository's models/stories260k.</summary>
public sealed class Stories260kModels : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<Quantization, string> _folders = [];
    private readonly Lock _lock = new();

    /// <summary>The folder of stories260K built with <paramref name="quantization"/>, built on first use.</summary>
    public string Folder(Quantization quantization)
    {
        lock (_lock)
        {
            if (!_folders.TryGetValue(quantization, out string? folder))
            {
                folder = _directory.Combine($"stories260k-{quantization.ToName()}");
                using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
                var vocabulary = Llama2cVocabulary.Read(StoriesFiles.Tokenizer, checkpoint.Shape.VocabSize);
                ModelFolderBuilder.Build(checkpoint, vocabulary, quantization, folder, force: false);
                _folders[quantization] = folder;
            }

            return folder;
        }
    }

    public void Dispose() => _directory.Dispose();
}
