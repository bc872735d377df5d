using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Inspection;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Inspection;

public sealed class ModelInspectorTests(Stories260kModels models) : IClassFixture<Stories260kModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [Theory]
    [InlineData(Quantization.Fp32, "fp32")]
    [InlineData(Quantization.Int8, "int8")]
    [InlineData(Quantization.Int4, "int4")]
    public void Inspect_Stories260k_ReportsItsFacts(Quantization quantization, string name)
    {
        string folder = models.Folder(quantization);

        var info = ModelInspector.Inspect(folder);

        // 512 x 64 embedding (shared with the classifier) + 5 layers x 45,440 + the final norm's 64.
        Assert.Equal(260_032, info.Parameters);
        Assert.Equal(name, info.Quantization);
        Assert.Equal((512, 512, 5, "llama"), (info.ContextLength, info.VocabSize, info.Layers, info.Type));
        Assert.Equal(Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length), info.Bytes);
        Assert.Equal(Path.GetFileName(folder), info.Model);
    }

    [Fact]
    public void Inspect_QuantizedModels_AreSmaller()
    {
        long fp32 = ModelInspector.Inspect(models.Folder(Quantization.Fp32)).Bytes;
        long int8 = ModelInspector.Inspect(models.Folder(Quantization.Int8)).Bytes;
        long int4 = ModelInspector.Inspect(models.Folder(Quantization.Int4)).Bytes;

        Assert.True(int4 < int8 && int8 < fp32, $"fp32 {fp32}, int8 {int8}, int4 {int4}");
    }

    [Fact]
    public void Inspect_FolderWithoutConfig_SaysItIsNotAModelFolder()
    {
        var error = Assert.Throws<ModelFileException>(() => ModelInspector.Inspect(_temp.Path));

        Assert.Contains("genai_config.json: missing: not an ONNX Runtime GenAI model folder", error.Message);
    }

    [Fact]
    public void Inspect_CorruptModelFile_NamesIt()
    {
        string folder = _temp.Combine("corrupt");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(models.Folder(Quantization.Int8), "genai_config.json"), Path.Combine(folder, "genai_config.json"));
        File.WriteAllText(Path.Combine(folder, "model.onnx"), "this is not protobuf at all, just text");

        var error = Assert.Throws<ModelFileException>(() => ModelInspector.Inspect(folder));

        Assert.EndsWith("model.onnx", error.FilePath);
        Assert.Contains("not an ONNX model", error.Message);
    }

    [Fact]
    public void Inspect_ConfigMissingAField_NamesTheField()
    {
        File.WriteAllText(_temp.Combine("genai_config.json"), """{ "model": { "type": "llama", "vocab_size": 10 } }""");

        var error = Assert.Throws<ModelFileException>(() => ModelInspector.Inspect(_temp.Path));

        Assert.Contains("\"decoder\" is missing or not an object", error.Message);
    }

    public void Dispose() => _temp.Dispose();
}
