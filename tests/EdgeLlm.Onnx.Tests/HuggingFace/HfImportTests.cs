using System.Text.Json.Nodes;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;
using EdgeLlm.Tests;
using EdgeLlm.Tests.HuggingFace;

namespace EdgeLlm.Onnx.Tests.HuggingFace;

/// <summary>`model build --from-hf`: stories260K exported to the Hugging Face layout, built back, against llama2.c's own outputs.</summary>
public sealed class HfImportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public static TheoryData<int> GreedyCases => [0, 1, 2, 3];

    public void Dispose() => _temp.Dispose();

    [Theory]
    [MemberData(nameof(GreedyCases))]
    public void Build_StoriesThroughHf_GivesLlama2csReferenceTokenForToken(int caseIndex)
    {
        string folder = Build(HfFolders.WriteStories(_temp.Combine("hf")), Quantization.Fp32);
        var greedyCase = StoriesFiles.Reference.GetProperty("greedy_cases")[caseIndex];
        int[] prompt = StoriesFiles.Ids(greedyCase.GetProperty("prompt_ids"));
        int[] expected = StoriesFiles.Ids(greedyCase.GetProperty("greedy_next_ids"));
        using var model = LocalModel.Load(folder);

        var result = model.Generate(prompt, new GenerationSettings { MaxNewTokens = expected.Length });

        Assert.Equal(expected, result.TokenIds);
    }

    [Fact]
    public void Build_StoriesThroughHf_AgreesWithTheReferenceAtEveryPosition_AndPrintsItsText()
    {
        string folder = Build(HfFolders.WriteStories(_temp.Combine("hf")), Quantization.Fp32);
        var teacherForced = StoriesFiles.Reference.GetProperty("teacher_forced");
        var textCase = StoriesFiles.Reference.GetProperty("text_case");

        using (var evaluator = new ModelEvaluator(folder))
        {
            var evaluation = evaluator.Evaluate(StoriesFiles.Ids(teacherForced.GetProperty("input_ids")));
            Assert.Equal(StoriesFiles.Ids(teacherForced.GetProperty("argmax_ids")), evaluation.ArgMax);
        }

        using var model = LocalModel.Load(folder);
        var result = model.Generate(model.Encode(textCase.GetProperty("prompt").GetString()!), new GenerationSettings { MaxNewTokens = textCase.GetProperty("max_new_tokens").GetInt32() });
        Assert.Equal(textCase.GetProperty("expected_text").GetString(), result.Text);
    }

    [Fact]
    public void Build_FromShards_WritesTheSameModelAsFromOneFile()
    {
        string whole = Build(HfFolders.WriteStories(_temp.Combine("hf-1")), Quantization.Int4, "built-1");
        string sharded = Build(HfFolders.WriteStories(_temp.Combine("hf-3"), shards: 3), Quantization.Int4, "built-3");

        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, ModelFolderBuilder.ModelFile)), File.ReadAllBytes(Path.Combine(sharded, ModelFolderBuilder.ModelFile)));
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Build_HalfPrecisionWeights_AreReadAsTheirValues_AndStillTellTheStory(string dtype)
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"), dtype);
        using var reference = Llama2cCheckpoint.Open(StoriesFiles.Checkpoint);
        float[] embedding = reference.Read(LlamaTensor.TokenEmbedding, 0);

        using (var checkpoint = HfCheckpoint.Open(hf))
        {
            Assert.Equal(embedding.Select(v => SafetensorsWriter.Stored(dtype, v)), checkpoint.Read(LlamaTensor.TokenEmbedding, 0));
        }

        using var evaluator = new ModelEvaluator(Build(hf, Quantization.Fp32));
        var teacherForced = StoriesFiles.Reference.GetProperty("teacher_forced");
        int[] expected = StoriesFiles.Ids(teacherForced.GetProperty("argmax_ids"));
        var evaluation = evaluator.Evaluate(StoriesFiles.Ids(teacherForced.GetProperty("input_ids")));
        double agreement = evaluation.ArgMax.Zip(expected).Count(p => p.First == p.Second) / (double)expected.Length;
        Assert.True(agreement >= 0.9, $"{dtype}: top-1 agreement {agreement:P1}");
    }

    [Fact]
    public void Build_CarriesTheTokenizer_TheChatTemplate_AndTheIdsThatEndAGeneration()
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"));
        File.WriteAllText(Path.Combine(hf, HfTokenizer.ChatTemplateFile), "{% for m in messages %}{{ m['content'] }}{% endfor %}");

        string folder = Build(hf, Quantization.Int8);

        Assert.Equal([2, 1], GenAiConfig.Read(folder).EosTokenIds);
        Assert.True(TokenizerFacts.Read(folder).HasChatTemplate);
        Assert.True(File.Exists(Path.Combine(folder, HfTokenizer.GenerationConfigFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(hf, TokenizerFacts.TokenizerFile)), File.ReadAllBytes(Path.Combine(folder, TokenizerFacts.TokenizerFile)));
    }

    [Theory]
    [InlineData("architectures", """["GPT2LMHeadModel"]""", "\"architectures\" GPT2LMHeadModel is not one of LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, Phi3ForCausalLM")]
    [InlineData("hidden_act", "\"gelu\"", "\"hidden_act\" gelu is not silu")]
    [InlineData("head_dim", "16", "\"head_dim\" 16 × 8 heads is not hidden_size 64")]
    [InlineData("rope_scaling", """{ "type": "yarn", "factor": 4 }""", "\"rope_scaling\" type yarn is not supported")]
    [InlineData("hidden_size", "\"64\"", "\"hidden_size\" has a value of the wrong kind")]
    [InlineData("num_hidden_layers", "null", "\"num_hidden_layers\" is missing or not a positive whole number")]
    public void Open_AConfigItCannotRead_NamesTheField(string field, string value, string message)
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!.AsObject();
        config[field] = JsonNode.Parse(value);
        File.WriteAllText(Path.Combine(hf, "config.json"), config.ToJsonString());

        var error = Assert.Throws<ModelFileException>(() => HfCheckpoint.Open(hf));

        Assert.Equal(Path.Combine(hf, "config.json"), error.FilePath);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Open_WeightsOfOtherDimensions_NameTheTensorAndBothShapes()
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!.AsObject();
        config["intermediate_size"] = 128;
        File.WriteAllText(Path.Combine(hf, "config.json"), config.ToJsonString());

        var error = Assert.Throws<ModelFileException>(() => HfCheckpoint.Open(hf));

        Assert.Contains("tensor model.layers.0.mlp.down_proj.weight is [64, 172], not [64, 128] as config.json implies", error.Message);
    }

    [Fact]
    public void Open_AMissingTensor_IsNamed()
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!.AsObject();
        config["tie_word_embeddings"] = false;
        File.WriteAllText(Path.Combine(hf, "config.json"), config.ToJsonString());

        var error = Assert.Throws<ModelFileException>(() => HfCheckpoint.Open(hf));

        Assert.Contains("has no tensor lm_head.weight, which a LlamaForCausalLM of these dimensions needs", error.Message);
    }

    private string Build(string hf, Quantization quantization, string name = "built")
    {
        string folder = _temp.Combine(name);
        using var checkpoint = HfCheckpoint.Open(hf);
        ModelFolderBuilder.Build(checkpoint, HfTokenizer.Open(hf, checkpoint.Config), quantization, folder, force: false);
        return folder;
    }
}
