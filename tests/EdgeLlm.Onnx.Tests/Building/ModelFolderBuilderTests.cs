using System.Security.Cryptography;
using System.Text.Json;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Inspection;
using EdgeLlm.Onnx.Tests.Checkpoints;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Building;

public sealed class ModelFolderBuilderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void Build_Stories260k_WritesTheGenAiLayout()
    {
        string folder = BuildStories(Quantization.Int4, "model");

        Assert.Equal(
            ["genai_config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var config = GenAiConfig.Read(folder);
        Assert.Equal(("llama", 512, 512, 5, 4, 8), (config.ModelType, config.ContextLength, config.VocabSize, config.Layers, config.KvHeads, config.HeadSize));
        Assert.Equal([2, 1], config.EosTokenIds);
    }

    [Fact]
    public void Build_ExistingOutputWithoutForce_IsRefusedAndKeepsTheOldFolder()
    {
        string folder = _temp.Combine("model");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "keep.txt"), "old");

        var error = Assert.Throws<ModelFileException>(() => BuildStories(Quantization.Fp32, "model"));

        Assert.Contains("already exists (pass --force to replace it)", error.Message);
        Assert.Equal(["keep.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
        AssertNoStagingLeft();
    }

    [Fact]
    public void Build_ExistingOutputWithForce_ReplacesIt()
    {
        string folder = _temp.Combine("model");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "stale.txt"), "old");

        BuildStories(Quantization.Fp32, "model", force: true);

        Assert.False(File.Exists(Path.Combine(folder, "stale.txt")));
        Assert.True(File.Exists(Path.Combine(folder, "model.onnx")));
        AssertNoStagingLeft();
    }

    [Fact]
    public void Build_TokenizerOfAnotherSize_NamesItAndWritesNothing()
    {
        var vocabulary = Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512);

        var error = Assert.Throws<ModelFileException>(() =>
            ModelFolderBuilder.Build(new SyntheticWeights("stories15m", 1), vocabulary, Quantization.Int8, _temp.Combine("model"), force: false));

        Assert.Equal(StoriesFiles.Tokenizer, error.FilePath);
        Assert.Contains($"holds 512 tokens, but synthetic stories15m (seed 1) has a vocabulary of {Llama2cVocabulary.ByteVocabularySize}", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void Build_FailingMidway_LeavesNoHalfWrittenFolder()
    {
        var weights = new FailingWeights(new SyntheticWeights("stories260k", 1), failAtLayer: 3);

        Assert.Throws<ModelFileException>(() => ModelFolderBuilder.Build(weights, Llama2cVocabulary.Bytes(), Quantization.Int4, _temp.Combine("model"), force: false));

        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void Build_Cancelled_LeavesNoHalfWrittenFolder()
    {
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            ModelFolderBuilder.Build(new SyntheticWeights("stories260k", 1), Llama2cVocabulary.Bytes(), Quantization.Int4, _temp.Combine("model"), force: false, cancellation.Token));

        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void Build_LargeWeights_GoToExternalDataThatLoads()
    {
        string folder = _temp.Combine("stories15m-fp32");

        ModelFolderBuilder.Build(new SyntheticWeights("stories15m", 7), Llama2cVocabulary.Bytes(), Quantization.Fp32, folder, force: false);

        var data = new FileInfo(Path.Combine(folder, ModelFolderBuilder.ExternalDataFile));
        Assert.True(data.Exists);
        Assert.True(data.Length > ModelFolderBuilder.InlineWeightLimitBytes);
        Assert.True(new FileInfo(Path.Combine(folder, ModelFolderBuilder.ModelFile)).Length < 1 << 20);
        using var model = LocalModel.Load(folder);
        Assert.Equal(3, model.Generate(model.Encode("hi"), new GenerationSettings { MaxNewTokens = 3 }).TokenIds.Count);
    }

    [Fact]
    public void Build_SmallWeights_StayInTheModelFile()
    {
        string folder = BuildStories(Quantization.Fp32, "model");

        Assert.False(File.Exists(Path.Combine(folder, ModelFolderBuilder.ExternalDataFile)));
    }

    [Fact]
    public void Build_SyntheticSeed_DeterminesTheWeights()
    {
        string Hash(string name, ulong seed)
        {
            string folder = _temp.Combine(name);
            ModelFolderBuilder.Build(new SyntheticWeights("stories260k", seed), Llama2cVocabulary.Bytes(), Quantization.Int8, folder, force: false);
            return Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, ModelFolderBuilder.ModelFile))));
        }

        Assert.Equal(Hash("a", 5), Hash("b", 5));
        Assert.NotEqual(Hash("c", 5), Hash("d", 6));
    }

    [Theory]
    [InlineData("stories260k", 64, 172, 5, 8, 4)]
    [InlineData("stories15m", 288, 768, 6, 6, 6)]
    [InlineData("smollm2-135m", 576, 1536, 30, 9, 3)]
    [InlineData("qwen2.5-0.5b", 896, 4864, 24, 14, 2)]
    public void Build_SyntheticShape_HasTheRealDimensionsAndGenerates(string shapeName, int dim, int hidden, int layers, int heads, int kvHeads)
    {
        var weights = new SyntheticWeights(shapeName, 1);
        string folder = _temp.Combine(shapeName);

        ModelFolderBuilder.Build(weights, Llama2cVocabulary.Bytes(), Quantization.Int4, folder, force: false);

        Assert.Equal((dim, hidden, layers, heads, kvHeads), (weights.Shape.Dim, weights.Shape.HiddenDim, weights.Shape.Layers, weights.Shape.Heads, weights.Shape.KvHeads));
        Assert.Equal(weights.Shape.ParameterCount, ModelInspector.Inspect(folder).Parameters);
        using var model = LocalModel.Load(folder, intraOpThreads: 1);
        var result = model.Generate(model.Encode("The"), new GenerationSettings { MaxNewTokens = 2 });
        Assert.Equal(2, result.TokenIds.Count);
    }

    [Fact]
    public void SyntheticWeights_UnknownShape_ListsTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => new SyntheticWeights("gpt-5", 1));

        Assert.Contains("unknown synthetic shape 'gpt-5' (known: stories260k, stories15m, smollm2-135m, smollm2-360m, smollm2-1.7b, qwen2.5-0.5b, qwen2.5-1.5b, llama3.2-1b, phi3.5-mini)", error.Message);
    }

    [Theory]
    [InlineData(Quantization.Fp32)]
    [InlineData(Quantization.Int4)]
    public void Build_SyntheticShapeWithItsRealVocabulary_StoresWhatWeightBytesSaysAndGenerates(Quantization quantization)
    {
        var weights = new SyntheticWeights("stories15m", 1, realVocabulary: true);
        string folder = _temp.Combine("stories15m-real");

        ModelFolderBuilder.Build(weights, Llama2cVocabulary.Bytes(weights.Shape.VocabSize), quantization, folder, force: false);

        var info = ModelInspector.Inspect(folder);
        Assert.Equal((32000, weights.Shape.ParameterCount), (info.VocabSize, info.Parameters));
        // The folder holds the weights (external data aligned to pages), the rotary tables (256 positions x 24 pairs
        // x cos and sin), the graph and the tokenizer.
        long rotary = 256 * 24 * 2 * sizeof(float);
        long tokenizer = new FileInfo(Path.Combine(folder, "tokenizer.json")).Length;
        Assert.InRange(info.Bytes - tokenizer - rotary, WeightBytes.Stored(weights.Shape, quantization), WeightBytes.Stored(weights.Shape, quantization) + 256 * 1024);
        using var model = LocalModel.Load(folder, intraOpThreads: 1);
        Assert.Equal(2, model.Generate(model.Encode("The"), new GenerationSettings { MaxNewTokens = 2 }).TokenIds.Count);
    }

    [Fact]
    public void WeightBytes_QuantizedClassifier_IsReadPerTokenAtTheBodysBits()
    {
        var qwen = SyntheticWeights.ShapeOf("qwen2.5-0.5b")!;

        // The float32 classifier alone is 545 MB; quantized with the body it is 4.5 bits (or 8.5) a weight.
        Assert.Equal(544_538_624, (long)qwen.VocabSize * qwen.Dim * sizeof(float));
        long int4 = WeightBytes.ReadPerToken(qwen, Quantization.Int4);
        long int8 = WeightBytes.ReadPerToken(qwen, Quantization.Int8);
        Assert.InRange(int4, 270_000_000, 290_000_000);
        Assert.InRange(int8, 510_000_000, 540_000_000);
        Assert.True(WeightBytes.ReadPerToken(qwen, Quantization.Fp32) > 1_900_000_000);
    }

    [Theory]
    [InlineData(Quantization.Fp32)]
    [InlineData(Quantization.Int8)]
    [InlineData(Quantization.Int4)]
    public void Build_SeparateClassifier_IsUsedForTheLogits(Quantization quantization)
    {
        using var shared = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        string copyPath = _temp.Combine("copy.bin");
        string negatedPath = _temp.Combine("negated.bin");
        float[] embedding = shared.Read(LlamaTensor.TokenEmbedding, 0);
        Llama2cFiles.WriteLegacy(shared, copyPath, embedding);
        Llama2cFiles.WriteLegacy(shared, negatedPath, embedding.Select(v => -v).ToArray());
        int[] input = StoriesFiles.Ids(StoriesFiles.Reference.GetProperty("teacher_forced").GetProperty("input_ids"));

        IReadOnlyList<int> ArgMax(string checkpointPath, string name)
        {
            using var checkpoint = Llama2cCheckpoint.Open(checkpointPath);
            string folder = _temp.Combine(name);
            ModelFolderBuilder.Build(checkpoint, Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512), quantization, folder, force: false);
            using var evaluator = new ModelEvaluator(folder);
            return evaluator.Evaluate(input).ArgMax;
        }

        // A separate classifier holding the embedding's values computes what the shared one does, at every precision.
        var expected = ArgMax(StoriesFiles.Checkpoint, "shared");
        Assert.Equal(expected, ArgMax(copyPath, "copy"));
        Assert.NotEqual(expected, ArgMax(negatedPath, "negated"));
    }

    [Fact]
    public void Build_ConstantWeights_PredictTheChosenToken()
    {
        string folder = _temp.Combine("constant");
        ModelFolderBuilder.Build(new ConstantWeights(predictedId: 42), Llama2cVocabulary.Bytes(), Quantization.Int4, folder, force: false);
        using var evaluator = new ModelEvaluator(folder);

        Assert.All(evaluator.Evaluate([1, 7, 9, 200]).ArgMax, id => Assert.Equal(42, id));
    }

    public void Dispose() => _temp.Dispose();

    private string BuildStories(Quantization quantization, string name, bool force = false)
    {
        string folder = _temp.Combine(name);
        using var checkpoint = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        ModelFolderBuilder.Build(checkpoint, Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512), quantization, folder, force);
        return folder;
    }

    private void AssertNoStagingLeft() =>
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_temp.Path), entry => Path.GetFileName(entry).StartsWith('.'));

    private sealed class FailingWeights(ILlamaWeights inner, int failAtLayer) : ILlamaWeights
    {
        public LlamaShape Shape => inner.Shape;

        public string Source => inner.Source;

        public float[] Read(LlamaTensor tensor, int layer) =>
            layer == failAtLayer && tensor == LlamaTensor.GateProjection
                ? throw new ModelFileException("weights.bin", "unreadable")
                : inner.Read(tensor, layer);
    }
}
