using System.Buffers.Binary;
using EdgeLlm.Onnx.Building;

namespace EdgeLlm.Onnx.Checkpoints;

/// <summary>
/// A llama2.c tokenizer.bin: int32 max_token_length, then per token a float32 merge score, an int32 byte
/// length and the piece's bytes. Ids 0, 1, 2 are unk, BOS and EOS; ids 3 to 258 are the bytes 0x00 to 0xFF.
/// </summary>
public sealed class Llama2cVocabulary : IModelTokenizer
{
    public const int UnknownId = 0;
    public const int BosId = 1;
    public const int EosId = 2;
    public const int FirstByteId = 3;

    private Llama2cVocabulary(string source, IReadOnlyList<byte[]> pieces, IReadOnlyList<float> scores)
    {
        Source = source;
        Pieces = pieces;
        Scores = scores;
    }

    public string Source { get; }

    /// <summary>Token pieces as stored (UTF-8, with a plain space where SentencePiece shows '▁').</summary>
    public IReadOnlyList<byte[]> Pieces { get; }

    public IReadOnlyList<float> Scores { get; }

    public int Count => Pieces.Count;

    /// <summary>llama2.c's stories end a story with BOS (run.c stops there) and never emit EOS; both end a generation.</summary>
    public SpecialTokenIds SpecialTokens { get; } = new(BosId, [EosId, BosId], EosId);

    public void CheckFits(LlamaShape shape, string weightsSource)
    {
        if (Count != shape.VocabSize)
        {
            throw new ModelFileException(Source, $"holds {Count} tokens, but {weightsSource} has a vocabulary of {shape.VocabSize}");
        }
    }

    public void WriteFiles(string folder, int contextLength) => HuggingFaceTokenizerWriter.Write(this, folder, contextLength);

    /// <summary>Reads a tokenizer that must hold exactly <paramref name="expectedCount"/> tokens, the checkpoint's vocabulary size.</summary>
    public static Llama2cVocabulary Read(string path, int expectedCount)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, e.Message, e);
        }

        if (data.Length < sizeof(int))
        {
            throw new ModelFileException(path, "truncated: shorter than the tokenizer header");
        }

        var pieces = new List<byte[]>();
        var scores = new List<float>();
        int position = sizeof(int);
        while (position < data.Length)
        {
            if (data.Length - position < 2 * sizeof(int))
            {
                throw new ModelFileException(path, $"truncated inside token {pieces.Count}");
            }

            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(position));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(position + sizeof(float)));
            position += 2 * sizeof(int);
            if (length < 0 || length > data.Length - position)
            {
                throw new ModelFileException(path, $"token {pieces.Count} claims {length} bytes, past the end of the file (truncated or not a llama2.c tokenizer)");
            }

            pieces.Add(data.AsSpan(position, length).ToArray());
            scores.Add(score);
            position += length;
        }

        if (pieces.Count != expectedCount)
        {
            throw new ModelFileException(path, $"holds {pieces.Count} tokens, but the checkpoint's vocabulary has {expectedCount}");
        }

        if (expectedCount < FirstByteId + 256)
        {
            throw new ModelFileException(path, $"holds {pieces.Count} tokens, too few for unk, BOS, EOS and the 256 byte tokens");
        }

        return new Llama2cVocabulary(path, pieces, scores);
    }

    /// <summary>Size of <see cref="Bytes"/> at its smallest.</summary>
    public const int ByteVocabularySize = FirstByteId + 256 + 1;

    /// <summary>
    /// The vocabulary of synthetic models: unk, BOS, EOS, the 256 bytes (so that any text can be encoded) and
    /// the word-boundary space, so that text round-trips through SentencePiece's leading-space convention;
    /// then "&lt;extra_N&gt;" pieces up to <paramref name="size"/>, for a model with a real vocabulary's size.
    /// </summary>
    public static Llama2cVocabulary Bytes(int size = ByteVocabularySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, ByteVocabularySize);
        var pieces = new List<byte[]>(size) { "<unk>"u8.ToArray(), "\n<s>\n"u8.ToArray(), "\n</s>\n"u8.ToArray() };
        for (int b = 0; b < 256; b++)
        {
            pieces.Add(System.Text.Encoding.ASCII.GetBytes($"<0x{b:X2}>"));
        }

        pieces.Add(" "u8.ToArray());
        while (pieces.Count < size)
        {
            pieces.Add(System.Text.Encoding.ASCII.GetBytes($"<extra_{pieces.Count}>"));
        }

        return new Llama2cVocabulary(size == ByteVocabularySize ? "byte vocabulary" : $"byte vocabulary of {size} tokens", pieces, new float[pieces.Count]);
    }
}
