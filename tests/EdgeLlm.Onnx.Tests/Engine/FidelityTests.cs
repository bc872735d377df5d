using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Engine;

/// <summary>Built stories260K models against what llama2.c's run.c produced with the same weights.</summary>
public sealed class FidelityTests(Stories260kModels models) : IClassFixture<Stories260kModels>
{
    public static TheoryData<int> GreedyCases => [0, 1, 2, 3];

    [Theory]
    [MemberData(nameof(GreedyCases))]
    public void Generate_Fp32Greedy_MatchesTheReferenceTokenForToken(int caseIndex)
    {
        var greedyCase = StoriesFiles.Reference.GetProperty("greedy_cases")[caseIndex];
        int[] prompt = StoriesFiles.Ids(greedyCase.GetProperty("prompt_ids"));
        int[] expected = StoriesFiles.Ids(greedyCase.GetProperty("greedy_next_ids"));
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));

        var result = model.Generate(prompt, new GenerationSettings { MaxNewTokens = expected.Length });

        Assert.Equal(expected, result.TokenIds);
        Assert.Equal(FinishReason.Length, result.FinishReason);
    }

    [Fact]
    public void Generate_Fp32FromBos_PrintsTheReferenceText()
    {
        var textCase = StoriesFiles.Reference.GetProperty("text_case");
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));

        var result = model.Generate(model.Encode(textCase.GetProperty("prompt").GetString()!), new GenerationSettings { MaxNewTokens = textCase.GetProperty("max_new_tokens").GetInt32() });

        Assert.Equal(textCase.GetProperty("expected_text").GetString(), result.Text);
    }

    [Theory]
    [InlineData(Quantization.Fp32, 1.0)]
    [InlineData(Quantization.Int8, 0.97)]
    [InlineData(Quantization.Int4, 0.85)]
    public void Evaluate_TeacherForced_KeepsTop1Agreement(Quantization quantization, double minimumAgreement)
    {
        var teacherForced = StoriesFiles.Reference.GetProperty("teacher_forced");
        int[] input = StoriesFiles.Ids(teacherForced.GetProperty("input_ids"));
        int[] expected = StoriesFiles.Ids(teacherForced.GetProperty("argmax_ids"));
        using var evaluator = new ModelEvaluator(models.Folder(quantization));

        var evaluation = evaluator.Evaluate(input);

        double agreement = evaluation.ArgMax.Zip(expected).Count(pair => pair.First == pair.Second) / (double)expected.Length;
        Assert.True(agreement >= minimumAgreement, $"{quantization}: top-1 agreement {agreement:P1} is below {minimumAgreement:P0}");
    }

    [Fact]
    public void Evaluate_Quantization_CostsLikelihoodInOrder()
    {
        int[] input = StoriesFiles.Ids(StoriesFiles.Reference.GetProperty("teacher_forced").GetProperty("input_ids"));
        double Nll(Quantization quantization)
        {
            using var evaluator = new ModelEvaluator(models.Folder(quantization));
            return evaluator.Evaluate(input).MeanNegativeLogLikelihood;
        }

        double fp32 = Nll(Quantization.Fp32);
        double int8 = Nll(Quantization.Int8);
        double int4 = Nll(Quantization.Int4);

        // The reference's own greedy story is likely under the model: well under ln(512) per token.
        Assert.InRange(fp32, 0.1, 1.0);
        Assert.True(fp32 < int8 && int8 < int4, $"fp32 {fp32}, int8 {int8}, int4 {int4}");
    }

    [Fact]
    public void Evaluate_AgreesWithGreedyGeneration()
    {
        var greedyCase = StoriesFiles.Reference.GetProperty("greedy_cases")[1];
        int[] prompt = StoriesFiles.Ids(greedyCase.GetProperty("prompt_ids"));
        int[] next = StoriesFiles.Ids(greedyCase.GetProperty("greedy_next_ids"));
        using var evaluator = new ModelEvaluator(models.Folder(Quantization.Int8));

        var evaluation = evaluator.Evaluate([.. prompt, .. next[..10]]);

        using var model = LocalModel.Load(models.Folder(Quantization.Int8));
        var generated = model.Generate(prompt, new GenerationSettings { MaxNewTokens = 11 });
        Assert.Equal(generated.TokenIds, evaluation.ArgMax.Skip(prompt.Length - 1).Take(11));
    }
}
