using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Tests.Building;
using EdgeLlm.Tests;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Onnx.Tests.Engine;

public sealed class LocalModelTests(Stories260kModels models) : IClassFixture<Stories260kModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void Encode_Text_StartsWithBos()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));

        Assert.Equal([1, 403, 407, 261, 378], model.Encode("Once upon a time"));
        Assert.Equal([1], model.Encode(""));
    }

    [Fact]
    public void Encode_TextThatWritesBos_GetsItOnce()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));

        Assert.Equal([1, 403, 407], model.Encode("<s>Once upon"));
    }

    [Fact]
    public void Generate_TextPrompt_ContinuesWithItsSpacing()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));

        var result = model.Generate(model.Encode("Once upon a time"), new GenerationSettings { MaxNewTokens = 8 });

        Assert.StartsWith(", there was a little girl", result.Text);
        Assert.Equal(5, result.PromptTokens);
    }

    [Fact]
    public void Generate_ReportsEachTokenAsItComes()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        var reported = new List<(int Id, string Piece)>();

        var result = model.Generate([1], new GenerationSettings { MaxNewTokens = 12 }, (id, piece) => reported.Add((id, piece)));

        Assert.Equal(result.TokenIds, reported.Select(r => r.Id));
        Assert.Equal(result.Text, string.Concat(reported.Select(r => r.Piece)));
        Assert.Equal("Once", reported[0].Piece);
    }

    [Fact]
    public void Generate_EndToken_StopsWithoutEmittingIt()
    {
        using var model = BuildConstant(predictedId: Llama2cVocabulary.EosId);

        var result = model.Generate([1, 70, 71], new GenerationSettings { MaxNewTokens = 10 });

        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Empty(result.TokenIds);
    }

    [Fact]
    public void Generate_Bos_EndsAStoryAsInLlama2c()
    {
        using var model = BuildConstant(predictedId: Llama2cVocabulary.BosId);

        Assert.Equal(FinishReason.Stop, model.Generate([1, 70], new GenerationSettings { MaxNewTokens = 10 }).FinishReason);
    }

    [Fact]
    public void Generate_ContextFull_FinishesWithLength()
    {
        using var model = BuildConstant(predictedId: 100);

        var result = model.Generate([1, 70], new GenerationSettings { MaxNewTokens = 1000 });

        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(64 - 2, result.TokenIds.Count);
    }

    [Fact]
    public void Generate_Cancelled_ThrowsAfterTheTokensReported()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        using var cancellation = new CancellationTokenSource();
        int reported = 0;

        Assert.ThrowsAny<OperationCanceledException>(() => model.Generate([1], new GenerationSettings { MaxNewTokens = 100 }, (_, _) =>
        {
            if (++reported == 3)
            {
                cancellation.Cancel();
            }
        }, cancellation.Token));

        Assert.Equal(3, reported);
    }

    [Fact]
    public void Generate_PastTheDeadline_StopsWithWhatItHas()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        var time = new FakeTimeProvider { AutoAdvanceAmount = TimeSpan.FromMilliseconds(10) };
        var settings = new GenerationSettings { MaxNewTokens = 100, Deadline = time.GetUtcNow().AddMilliseconds(45), TimeProvider = time };

        var result = model.Generate([1], settings);

        Assert.Equal(FinishReason.Deadline, result.FinishReason);
        Assert.InRange(result.TokenIds.Count, 1, 5);
    }

    [Fact]
    public void Generate_Sampling_RepeatsWithTheSameSeed()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));
        IReadOnlyList<int> Sample(int seed) => model.Generate([1], new GenerationSettings { MaxNewTokens = 40, Temperature = 1.0f, Seed = seed }).TokenIds;

        var greedy = model.Generate([1], new GenerationSettings { MaxNewTokens = 40 }).TokenIds;

        Assert.Equal(Sample(42), Sample(42));
        Assert.Contains(Enumerable.Range(1, 5), seed => !Sample(seed).SequenceEqual(greedy));
        Assert.Contains(Enumerable.Range(1, 5), seed => !Sample(seed).SequenceEqual(Sample(seed + 100)));
    }

    [Fact]
    public void Generate_AConversationWithTheCache_ReadsOnlyEachNewTurn_AndWritesTheSameGreedyText()
    {
        using var cached = LocalModel.Load(models.Folder(Quantization.Int8), cacheSlots: 2);
        using var uncached = LocalModel.Load(models.Folder(Quantization.Int8));
        string[] turns = ["Lily went to the park.", "She saw a big dog.", "The dog was sad.", "Lily gave it a ball.", "They played all day."];

        var withCache = Converse(cached, turns);
        var without = Converse(uncached, turns);

        Assert.Equal(without.Select(r => r.Text), withCache.Select(r => r.Text));
        Assert.All(without, r => Assert.Equal(0, r.CachedPromptTokens));
        Assert.Equal(0, withCache[0].CachedPromptTokens);
        // From the second turn, all the chat before the new turn comes from the cache (bar the token at the seam).
        Assert.All(withCache.Skip(1).Zip(withCache), pair => Assert.InRange(pair.First.CachedPromptTokens, pair.Second.PromptTokens, pair.First.PromptTokens - 1));
    }

    [Fact]
    public void Generate_AfterAnEndToken_TheCachedSequenceGoesOn_AsAFreshOneWould()
    {
        using var cached = LocalModel.Load(models.Folder(Quantization.Int8), cacheSlots: 1);
        using var uncached = LocalModel.Load(models.Folder(Quantization.Int8));
        var story = cached.Generate(cached.Encode("Lily"), new GenerationSettings { MaxNewTokens = 400 });
        var next = cached.Encode("Lily" + story.Text + "\nThe next day, Ben");

        var goesOn = cached.Generate(next, new GenerationSettings { MaxNewTokens = 20 });

        Assert.Equal(FinishReason.Stop, story.FinishReason);
        Assert.True(goesOn.CachedPromptTokens > 0);
        Assert.Equal(uncached.Generate(next, new GenerationSettings { MaxNewTokens = 20 }).Text, goesOn.Text);
        Assert.Equal(20, goesOn.TokenIds.Count);
    }

    [Fact]
    public void Generate_NoMemoryToSpare_KeepsNothingInTheCache()
    {
        bool spare = false;
        using var model = LocalModel.Load(models.Folder(Quantization.Int8), cacheSlots: 2, mayKeepCache: () => spare);
        var prompt = model.Encode("Lily went to the park");

        model.Generate(prompt, new GenerationSettings { MaxNewTokens = 8 });
        var tight = model.Generate(prompt, new GenerationSettings { MaxNewTokens = 8 });
        spare = true;
        model.Generate(prompt, new GenerationSettings { MaxNewTokens = 8 });
        var roomy = model.Generate(prompt, new GenerationSettings { MaxNewTokens = 8 });

        Assert.Equal(0, tight.CachedPromptTokens);
        Assert.Equal(prompt.Count - 1, roomy.CachedPromptTokens);
    }

    [Fact]
    public void Generate_ALongPrompt_IsReadInSlices_TellingItsProgress()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        var prompt = model.Encode(string.Join(' ', Enumerable.Repeat("Lily and Ben went to the park to play with a ball.", 20)));
        var progress = new List<double>();

        model.Generate(prompt, new GenerationSettings { MaxNewTokens = 4, OnPrefill = progress.Add });

        Assert.True(prompt.Count > 256, $"the prompt has {prompt.Count} tokens");
        Assert.Equal(Enumerable.Range(0, (prompt.Count + 127) / 128).Select(slice => slice * 128.0 / prompt.Count), progress);
    }

    [Fact]
    public void Generate_SeededSampling_NeverStartsFromACachedState()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8), cacheSlots: 2);
        var prompt = model.Encode("Once upon a time");
        var settings = new GenerationSettings { MaxNewTokens = 16, Temperature = 1f, Seed = 7 };

        var first = model.Generate(prompt, settings);
        var again = model.Generate(prompt, settings);

        Assert.Equal((0, first.Text), (again.CachedPromptTokens, again.Text));
    }

    // Each turn's prompt is the chat so far (earlier turns with their answers) and the new turn.
    private static List<GenerationResult> Converse(LocalModel model, string[] turns)
    {
        var results = new List<GenerationResult>();
        string chat = "";
        foreach (string turn in turns)
        {
            chat += (chat.Length > 0 ? "\n" : "") + turn;
            var result = model.Generate(model.Encode(chat), new GenerationSettings { MaxNewTokens = 24 });
            results.Add(result);
            chat += result.Text;
        }

        return results;
    }

    [Fact]
    public void Generate_PromptFillingTheContext_IsRefused()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));

        var error = Assert.Throws<PromptTooLongException>(() => model.Generate(Enumerable.Repeat(300, 512).ToArray(), new GenerationSettings()));

        Assert.Contains("leave no room in the model's context of 512", error.Message);
    }

    [Fact]
    public void Generate_IdOutsideTheVocabulary_IsRefused()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Int8));

        var error = Assert.Throws<ArgumentException>(() => model.Generate([1, 512], new GenerationSettings()));

        Assert.Contains("id 512 is outside the vocabulary (0 to 511)", error.Message);
    }

    [Fact]
    public void Load_MissingFolder_SaysSo()
    {
        var error = Assert.Throws<ModelFileException>(() => LocalModel.Load(_temp.Combine("absent")));

        Assert.Contains("no such model folder", error.Message);
    }

    [Fact]
    public void Load_ModelFileTheRuntimeRejects_NamesTheFolder()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int8), "broken");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), [1, 2, 3]);

        var error = Assert.Throws<ModelFileException>(() => LocalModel.Load(folder));

        Assert.Equal(folder, error.FilePath);
    }

    [Fact]
    public void Load_ATokenizerOfAKindTheRuntimeCannotRead_IsRefusedBeforeItCanTakeTheProcessDown()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int8), "bad-tokenizer");
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), """{ "model": { "type": "Whatever" } }""");

        var refusal = Assert.Throws<ModelFileException>(() => LocalModel.Load(folder));
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(Path.Combine(folder, "tokenizer.json"), refusal.FilePath);
        Assert.Contains("model type Whatever is not one ONNX Runtime GenAI reads (BPE, Unigram, WordPiece)", refusal.Message, StringComparison.Ordinal);

        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        Assert.Equal(3, model.Generate([1], new GenerationSettings { MaxNewTokens = 3 }).TokenIds.Count);
    }

    [Fact]
    public void Load_PublishedStyleFolder_FollowsItsTokenizerConfig()
    {
        // Published folders name one end token and may leave BOS to a chat template.
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int8), "published");
        string configPath = Path.Combine(folder, "genai_config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"eos_token_id\": [\n      2,\n      1\n    ]", "\"eos_token_id\": 2", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{ "add_bos_token": false, "tokenizer_class": "LlamaTokenizer" }""");

        using var model = LocalModel.Load(folder);

        Assert.Equal([2], model.Config.EosTokenIds);
        Assert.False(model.TokenizerFacts.AddsBos);
        Assert.Equal([403, 407], model.Encode("Once upon"));
    }

    public void Dispose() => _temp.Dispose();

    private LocalModel BuildConstant(int predictedId)
    {
        string folder = _temp.Combine($"constant-{predictedId}");
        ModelFolderBuilder.Build(new ConstantWeights(predictedId), Llama2cVocabulary.Bytes(), Quantization.Fp32, folder, force: false);
        return LocalModel.Load(folder);
    }
}
