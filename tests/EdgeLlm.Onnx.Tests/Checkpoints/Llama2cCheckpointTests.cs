using System.Runtime.InteropServices;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Checkpoints;

public sealed class Llama2cCheckpointTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void Open_Stories260k_ReadsTheLegacyHeader()
    {
        using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);

        Assert.Equal(0, checkpoint.FormatVersion);
        Assert.Equal(new LlamaShape(Dim: 64, HiddenDim: 172, Layers: 5, Heads: 8, KvHeads: 4, VocabSize: 512, ContextLength: 512, SharedClassifier: true), checkpoint.Shape);
        Assert.Equal(512 * 64, checkpoint.Read(LlamaTensor.TokenEmbedding, 0).Length);
        Assert.Equal(checkpoint.Read(LlamaTensor.TokenEmbedding, 0), checkpoint.Read(LlamaTensor.Classifier, 0));
    }

    [Fact]
    public void Read_PerLayerTensors_DifferBetweenLayers()
    {
        using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);

        Assert.NotEqual(checkpoint.Read(LlamaTensor.QueryProjection, 0), checkpoint.Read(LlamaTensor.QueryProjection, 1));
        Assert.Equal(32 * 64, checkpoint.Read(LlamaTensor.KeyProjection, 4).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => checkpoint.Read(LlamaTensor.KeyProjection, 5));
    }

    [Fact]
    public void Open_Version1Checkpoint_ReadsTheSameTensorsAsLegacy()
    {
        using var legacy = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        string path = _temp.Combine("v1.bin");
        Llama2cFiles.WriteVersion1(legacy, path);

        using var version1 = Llama2cCheckpoint.Open(path);

        Assert.Equal(1, version1.FormatVersion);
        Assert.Equal(legacy.Shape, version1.Shape);
        foreach (var tensor in Enum.GetValues<LlamaTensor>())
        {
            for (int layer = 0; layer < (LlamaTensorShapes.IsPerLayer(tensor) ? legacy.Shape.Layers : 1); layer++)
            {
                Assert.Equal(legacy.Read(tensor, layer), version1.Read(tensor, layer));
            }
        }
    }

    [Fact]
    public void Open_LegacyWithOwnClassifier_ReadsIt()
    {
        using var shared = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        float[] classifier = shared.Read(LlamaTensor.TokenEmbedding, 0).Select(v => -v).ToArray();
        string path = _temp.Combine("unshared.bin");
        Llama2cFiles.WriteLegacy(shared, path, classifier);

        using var unshared = Llama2cCheckpoint.Open(path);

        Assert.False(unshared.Shape.SharedClassifier);
        Assert.Equal(classifier, unshared.Read(LlamaTensor.Classifier, 0));
        Assert.Equal(shared.Read(LlamaTensor.TokenEmbedding, 0), unshared.Read(LlamaTensor.TokenEmbedding, 0));
    }

    [Fact]
    public void Open_TruncatedCheckpoint_NamesTheFileAndTheShortfall()
    {
        string path = _temp.Combine("truncated.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(StoriesFiles.Checkpoint)[..500_000]);

        var error = Assert.Throws<ModelFileException>(() => Llama2cCheckpoint.Open(path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("truncated: 500000 bytes", error.Message);
    }

    [Fact]
    public void Open_TrailingBytes_AreRefused()
    {
        string path = _temp.Combine("long.bin");
        File.WriteAllBytes(path, [.. File.ReadAllBytes(StoriesFiles.Checkpoint), 1, 2, 3, 4]);

        var error = Assert.Throws<ModelFileException>(() => Llama2cCheckpoint.Open(path));

        Assert.Contains("4 bytes more than the header's dimensions account for", error.Message);
    }

    [Theory]
    [InlineData(new[] { 64, 172, 5, 7, 7, 512, 512 }, "dim 64 is not a multiple of the 7 heads")]
    [InlineData(new[] { 64, 172, 5, 8, 3, 512, 512 }, "8 heads cannot be shared by 3 key/value heads")]
    [InlineData(new[] { 0, 172, 5, 8, 4, 512, 512 }, "every dimension must be positive")]
    [InlineData(new[] { 64, 172, 5, 8, 4, 512, 1 << 30 }, "implausibly large")]
    public void Open_CorruptHeader_NamesTheProblem(int[] header, string problem)
    {
        string path = _temp.Combine("corrupt.bin");
        File.WriteAllBytes(path, [.. MemoryMarshal.AsBytes(header.AsSpan()), .. new byte[4096]]);

        var error = Assert.Throws<ModelFileException>(() => Llama2cCheckpoint.Open(path));

        Assert.Contains(problem, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    [Fact]
    public void Open_Version2Checkpoint_IsRefusedWithAHint()
    {
        string path = _temp.Combine("v2.bin");
        var header = new byte[256];
        MemoryMarshal.Write(header, 0x616b3432u);
        MemoryMarshal.Write(header.AsSpan(4), 2);
        File.WriteAllBytes(path, header);

        var error = Assert.Throws<ModelFileException>(() => Llama2cCheckpoint.Open(path));

        Assert.Contains("version 2", error.Message);
        Assert.Contains("--version 1", error.Message);
    }

    [Fact]
    public void Open_MissingFile_NamesIt()
    {
        string path = _temp.Combine("absent.bin");

        var error = Assert.Throws<ModelFileException>(() => Llama2cCheckpoint.Open(path));

        Assert.Equal(path, error.FilePath);
    }

    [Fact]
    public void Read_NonFiniteWeights_NameTheTensor()
    {
        string path = _temp.Combine("nan.bin");
        byte[] bytes = File.ReadAllBytes(StoriesFiles.Checkpoint);
        // The first attention norm follows the 28-byte header and the 512 x 64 embedding.
        MemoryMarshal.Write(bytes.AsSpan(28 + 512 * 64 * 4 + 8), float.NaN);
        File.WriteAllBytes(path, bytes);
        using var checkpoint = Llama2cCheckpoint.Open(path);

        var error = Assert.Throws<ModelFileException>(() => checkpoint.Read(LlamaTensor.AttentionNorm, 0));

        Assert.Contains("AttentionNorm of layer 0 holds values that are not finite", error.Message);
    }

    public void Dispose() => _temp.Dispose();
}
