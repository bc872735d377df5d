using System.Text;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Checkpoints;

public sealed class Llama2cVocabularyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void Read_Tok512_ReadsPiecesAndScores()
    {
        var vocabulary = Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512);

        Assert.Equal(512, vocabulary.Count);
        Assert.Equal("<0x41>", Encoding.UTF8.GetString(vocabulary.Pieces[3 + 0x41]));
        Assert.Equal(" t", Encoding.UTF8.GetString(vocabulary.Pieces[259]));
        Assert.Equal(-1f, vocabulary.Scores[260]);
    }

    [Fact]
    public void Read_SizeDifferentFromTheCheckpoint_SaysBothSizes()
    {
        var error = Assert.Throws<ModelFileException>(() => Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 32000));

        Assert.Equal(StoriesFiles.Tokenizer, error.FilePath);
        Assert.Contains("holds 512 tokens, but the checkpoint's vocabulary has 32000", error.Message);
    }

    [Fact]
    public void Read_Truncated_NamesTheToken()
    {
        string path = _temp.Combine("tok.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(StoriesFiles.Tokenizer)[..3000]);

        var error = Assert.Throws<ModelFileException>(() => Llama2cVocabulary.Read(path, 512));

        Assert.Matches("token [0-9]+", error.Message);
    }

    [Fact]
    public void Bytes_CoversEveryByteAndTheWordBoundary()
    {
        var vocabulary = Llama2cVocabulary.Bytes();

        Assert.Equal(Llama2cVocabulary.ByteVocabularySize, vocabulary.Count);
        Assert.Equal("<0xFF>", Encoding.ASCII.GetString(vocabulary.Pieces[3 + 255]));
        Assert.Equal(" ", Encoding.ASCII.GetString(vocabulary.Pieces[^1]));
    }

    public void Dispose() => _temp.Dispose();
}
