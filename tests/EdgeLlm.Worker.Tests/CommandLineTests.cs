using System.Text.Json;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;
using EdgeLlm.Tests.HuggingFace;

namespace EdgeLlm.Worker.Tests;

public sealed class CommandLineTests(Stories260kModels models) : IClassFixture<Stories260kModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task Version_PrintsTheProductVersion()
    {
        var run = await CliRun.Of("--version");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(EdgeLlmCli.Version, run.Output.Trim());
        Assert.Matches(@"^0\.1\.0(\+[0-9a-f]+)?$", EdgeLlmCli.Version);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("generate", "--help")]
    [InlineData("model", "build", "--help")]
    public async Task Help_ListsTheCommandsAndExitsZero(params string[] args)
    {
        var run = await CliRun.Of(args);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Usage:", run.Output);
        Assert.Empty(run.Error);
    }

    [Theory]
    [InlineData("unknown and such", "frobnicate")]
    [InlineData("give exactly one of --prompt and --prompt-ids", "generate", "--model", "m")]
    [InlineData("--prompt-ids takes comma-separated non-negative integers; 'x' is not one", "generate", "--model", "m", "--prompt-ids", "1,x")]
    [InlineData("--max-new-tokens must be at least 1", "generate", "--model", "m", "--prompt", "hi", "--max-new-tokens", "0")]
    [InlineData("--quant must be fp32, int8 or int4, not 'int3'", "model", "build", "--synthetic", "stories260k", "--quant", "int3", "--out", "o")]
    [InlineData("unknown shape 'gpt' for --synthetic", "model", "build", "--synthetic", "gpt", "--quant", "int4", "--out", "o")]
    [InlineData("--from-llama2c needs --tokenizer", "model", "build", "--from-llama2c", "c.bin", "--quant", "int4", "--out", "o")]
    [InlineData("give exactly one of --from-llama2c, --from-hf and --synthetic", "model", "build", "--quant", "int4", "--out", "o")]
    public async Task UsageError_ExitsTwoWithOneLine(string message, params string[] args)
    {
        var run = await CliRun.Of(args);

        string line = run.SingleErrorLine(expectedExitCode: 2);
        if (message != "unknown and such")
        {
            Assert.Contains(message, line);
        }

        Assert.EndsWith("(see 'edgellm --help')", line);
    }

    [Fact]
    public async Task ModelBuild_FromLlama2c_WritesTheFolderAndPrintsItsInfo()
    {
        string folder = _temp.Combine("stories260k-int8");

        var run = await CliRun.Of("model", "build", "--from-llama2c", StoriesFiles.Checkpoint, "--tokenizer", StoriesFiles.Tokenizer, "--quant", "int8", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        using var info = JsonDocument.Parse(run.Output);
        Assert.Equal("int8", info.RootElement.GetProperty("quantization").GetString());
        Assert.Equal(260_032, info.RootElement.GetProperty("parameters").GetInt64());
        Assert.True(File.Exists(Path.Combine(folder, "genai_config.json")));
    }

    [Fact]
    public async Task ModelBuild_FromHf_WritesTheFolderAndPrintsItsInfo()
    {
        string hf = HfFolders.WriteStories(_temp.Combine("stories260k-hf"), dtype: "BF16");
        string folder = _temp.Combine("stories260k-int4");

        var run = await CliRun.Of("model", "build", "--from-hf", hf, "--quant", "int4", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        using var info = JsonDocument.Parse(run.Output);
        Assert.Equal(("int4", 260_032L), (info.RootElement.GetProperty("quantization").GetString(), info.RootElement.GetProperty("parameters").GetInt64()));
    }

    [Fact]
    public async Task ModelBuild_FromAFolderThatIsNotHf_NamesWhatIsMissing()
    {
        string empty = _temp.Combine("empty");
        Directory.CreateDirectory(empty);

        var run = await CliRun.Of("model", "build", "--from-hf", empty, "--quant", "int4", "--out", _temp.Combine("out"));

        Assert.Contains($"{Path.Combine(empty, "config.json")}: missing: not a Hugging Face model folder", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Fact]
    public async Task ModelBuild_OutputExists_FailsWithOneLineAndKeepsIt()
    {
        string folder = models.Folder(Quantization.Int8);
        long before = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);

        var run = await CliRun.Of("model", "build", "--from-llama2c", StoriesFiles.Checkpoint, "--tokenizer", StoriesFiles.Tokenizer, "--quant", "int4", "--out", folder);

        Assert.Contains($"{folder}: already exists (pass --force to replace it)", run.SingleErrorLine(expectedExitCode: 1));
        Assert.Equal(before, Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length));
    }

    [Fact]
    public async Task ModelBuild_TruncatedCheckpoint_NamesItAndWritesNothing()
    {
        string checkpoint = _temp.Combine("cut.bin");
        File.WriteAllBytes(checkpoint, File.ReadAllBytes(StoriesFiles.Checkpoint)[..1000]);
        string folder = _temp.Combine("out");

        var run = await CliRun.Of("model", "build", "--from-llama2c", checkpoint, "--tokenizer", StoriesFiles.Tokenizer, "--quant", "int4", "--out", folder);

        Assert.Contains($"{checkpoint}: truncated", run.SingleErrorLine(expectedExitCode: 1));
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task ModelBuild_TokenizerOfAnotherModel_NamesIt()
    {
        string tokenizer = _temp.Combine("tok.bin");
        byte[] bytes = File.ReadAllBytes(StoriesFiles.Tokenizer);
        File.WriteAllBytes(tokenizer, [.. bytes, .. bytes[4..40]]);

        var run = await CliRun.Of("model", "build", "--from-llama2c", StoriesFiles.Checkpoint, "--tokenizer", tokenizer, "--quant", "int4", "--out", _temp.Combine("out"));

        Assert.Contains(tokenizer, run.SingleErrorLine(expectedExitCode: 1));
        Assert.False(Directory.Exists(_temp.Combine("out")));
    }

    [Fact]
    public async Task ModelBuild_Synthetic_WritesTheNamedShape()
    {
        string folder = _temp.Combine("synthetic");

        var run = await CliRun.Of("model", "build", "--synthetic", "stories15m", "--seed", "3", "--quant", "int4", "--out", folder);

        Assert.Equal(0, run.ExitCode);
        using var info = JsonDocument.Parse(run.Output);
        Assert.Equal(6, info.RootElement.GetProperty("layers").GetInt32());
        Assert.Equal(256, info.RootElement.GetProperty("contextLength").GetInt32());
    }

    [Fact]
    public async Task ModelInfo_PrintsTheFactsAsJson()
    {
        var run = await CliRun.Of("model", "info", models.Folder(Quantization.Int4));

        Assert.Equal(0, run.ExitCode);
        using var info = JsonDocument.Parse(run.Output);
        var root = info.RootElement;
        Assert.Equal(
            ("stories260k-int4", 260_032L, "int4", 512, 512),
            (root.GetProperty("model").GetString(), root.GetProperty("parameters").GetInt64(), root.GetProperty("quantization").GetString(), root.GetProperty("contextLength").GetInt32(), root.GetProperty("vocabSize").GetInt32()));
        Assert.True(root.GetProperty("bytes").GetInt64() > 100_000);
    }

    [Fact]
    public async Task ModelInfo_NotAModelFolder_FailsWithOneLine()
    {
        var run = await CliRun.Of("model", "info", _temp.Path);

        Assert.Contains("genai_config.json: missing", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Fact]
    public async Task Generate_PromptIds_PrintsTheReferenceIds()
    {
        var greedyCase = StoriesFiles.Reference.GetProperty("greedy_cases")[3];
        int[] prompt = StoriesFiles.Ids(greedyCase.GetProperty("prompt_ids"));
        int[] expected = StoriesFiles.Ids(greedyCase.GetProperty("greedy_next_ids"));

        var run = await CliRun.Of("generate", "--model", models.Folder(Quantization.Fp32), "--prompt-ids", string.Join(',', prompt), "--max-new-tokens", "64", "--ids");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(string.Join(',', expected), run.Output.Trim());
    }

    [Fact]
    public async Task Generate_EmptyPrompt_PrintsTheReferenceText()
    {
        var textCase = StoriesFiles.Reference.GetProperty("text_case");

        var run = await CliRun.Of("generate", "--model", models.Folder(Quantization.Fp32), "--prompt", "", "--max-new-tokens", "200", "--temperature", "0");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(textCase.GetProperty("expected_text").GetString() + "\n", run.Output);
    }

    [Fact]
    public async Task Generate_SameSeed_SameSample()
    {
        string[] args = ["generate", "--model", models.Folder(Quantization.Int8), "--prompt", "Tom", "--temperature", "0.9", "--seed", "7", "--max-new-tokens", "30"];

        var first = await CliRun.Of(args);
        var second = await CliRun.Of(args);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Output, second.Output);
    }

    [Fact]
    public async Task Generate_Interrupted_ExitsWith130AndSaysSo()
    {
        using var interruption = new CancellationTokenSource();
        await interruption.CancelAsync();

        var run = await CliRun.Of(interruption.Token, "generate", "--model", models.Folder(Quantization.Int8), "--prompt", "Tom");

        Assert.Equal("edgellm: interrupted", run.SingleErrorLine(expectedExitCode: 130));
    }

    [Fact]
    public async Task Generate_MaxTime_StopsAndSaysWhere()
    {
        string folder = _temp.Combine("smollm2");
        await CliRun.Of("model", "build", "--synthetic", "smollm2-135m", "--quant", "int4", "--out", folder);

        // The deadline passes while the prompt is read, before the first new token.
        var run = await CliRun.Of("generate", "--model", folder, "--prompt", "hi", "--max-new-tokens", "100000", "--max-time-ms", "1", "--ids");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Output.Trim());
        Assert.Equal("edgellm: stopped at the --max-time-ms deadline after 0 tokens", run.Error.Trim());
    }

    [Fact]
    public async Task Generate_IdOutsideTheVocabulary_FailsWithOneLine()
    {
        var run = await CliRun.Of("generate", "--model", models.Folder(Quantization.Int8), "--prompt-ids", "1,9999");

        Assert.Contains("id 9999 is outside the vocabulary", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Fact]
    public async Task Generate_MissingModel_FailsWithOneLine()
    {
        var run = await CliRun.Of("generate", "--model", _temp.Combine("absent"), "--prompt", "hi");

        Assert.Contains("no such model folder", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Fact]
    public async Task ModelEval_PrintsArgmaxAndLikelihood()
    {
        var teacherForced = StoriesFiles.Reference.GetProperty("teacher_forced");
        string ids = string.Join(',', StoriesFiles.Ids(teacherForced.GetProperty("input_ids")));

        var run = await CliRun.Of("model", "eval", "--model", models.Folder(Quantization.Fp32), "--ids", ids);

        Assert.Equal(0, run.ExitCode);
        using var result = JsonDocument.Parse(run.Output);
        Assert.Equal(StoriesFiles.Ids(teacherForced.GetProperty("argmax_ids")), StoriesFiles.Ids(result.RootElement.GetProperty("argMax")));
        double nll = result.RootElement.GetProperty("meanNll").GetDouble();
        Assert.InRange(nll, 0.1, 1.0);
        Assert.Equal(Math.Exp(nll), result.RootElement.GetProperty("perplexity").GetDouble(), 6);
    }

    public void Dispose() => _temp.Dispose();
}
