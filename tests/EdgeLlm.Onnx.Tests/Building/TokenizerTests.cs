using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Building;

/// <summary>The tokenizer.json the builder writes, read by ONNX Runtime GenAI, against llama2.c's own encode.</summary>
public sealed class TokenizerTests(Stories260kModels models) : IClassFixture<Stories260kModels>
{
    [Theory]
    [InlineData("Once upon a time")]
    [InlineData("Hello world")]
    [InlineData("Lily's mom said, \"Lily, let's go to the park!\"")]
    [InlineData("  two leading spaces and  double  spaces ")]
    [InlineData("tabs\tand\nnew lines\n\n")]
    [InlineData("naïve café, Ελληνικά, 日本語")]
    [InlineData("emoji 🚀 and a rare ✓ mark")]
    [InlineData("x")]
    [InlineData("")]
    public void Encode_ThroughGenAi_MatchesLlama2c(string text)
    {
        var vocabulary = Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512);
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));

        Assert.Equal(Llama2cReferenceEncoder.Encode(vocabulary, text), model.Encode(text));
    }

    [Fact]
    public void Encode_CharacterOutsideTheVocabulary_FallsBackToBytes()
    {
        using var model = LocalModel.Load(models.Folder(Quantization.Fp32));

        var ids = model.Encode("🚀");

        // BOS, the dummy prefix, then F0 9F 9A 80 as byte tokens (byte + 3).
        Assert.Equal([1, 0xF0 + 3, 0x9F + 3, 0x9A + 3, 0x80 + 3], ids.Where((_, i) => i != 1).ToArray());
    }

    [Fact]
    public void Facts_OfABuiltFolder_AddBosAndDropTheLeadingSpace()
    {
        var facts = TokenizerFacts.Read(models.Folder(Quantization.Fp32));

        Assert.Equal(new TokenizerFacts(AddsBos: true, HasChatTemplate: false, DropsLeadingSpace: true), facts);
    }
}
