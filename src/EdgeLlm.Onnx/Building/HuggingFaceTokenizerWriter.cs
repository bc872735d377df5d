using System.Globalization;
using System.Text;
using System.Text.Json;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;

namespace EdgeLlm.Onnx.Building;

/// <summary>
/// Writes a llama2.c vocabulary as a Hugging Face tokenizer.json (with tokenizer_config.json) that encodes
/// and decodes as llama2.c's run.c does: a leading space, spaces shown as '▁', pairs merged in the order of
/// the merged piece's score, bytes for characters outside the vocabulary, the first space dropped on decode.
/// </summary>
internal static class HuggingFaceTokenizerWriter
{
    private const char WordBoundary = '\u2581';
    private static readonly string[] SpecialTokens = ["<unk>", "<s>", "</s>"];

    public static void Write(Llama2cVocabulary vocabulary, string folder, int contextLength)
    {
        string[] pieces = PieceStrings(vocabulary);
        WriteTokenizer(pieces, Merges(vocabulary, pieces), Path.Combine(folder, TokenizerFacts.TokenizerFile));
        WriteConfig(Path.Combine(folder, TokenizerFacts.TokenizerConfigFile), contextLength);
    }

    private static string[] PieceStrings(Llama2cVocabulary vocabulary)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var pieces = new string[vocabulary.Count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            string piece;
            if (id < SpecialTokens.Length)
            {
                piece = SpecialTokens[id];
            }
            else
            {
                try
                {
                    piece = strict.GetString(vocabulary.Pieces[id]).Replace(' ', WordBoundary);
                }
                catch (DecoderFallbackException)
                {
                    throw new ModelFileException(vocabulary.Source, $"token {id} is not valid UTF-8");
                }
            }

            if (!seen.TryAdd(piece, id))
            {
                throw new ModelFileException(vocabulary.Source, $"tokens {seen[piece]} and {id} are the same piece \"{piece}\"");
            }

            pieces[id] = piece;
        }

        return pieces;
    }

    // llama2.c merges the adjacent pair whose concatenation is the vocabulary piece with the highest score;
    // a BPE merge list ranked by that score, holding every split of every piece, does the same.
    private static List<(string Left, string Right)> Merges(Llama2cVocabulary vocabulary, string[] pieces)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            ids[pieces[id]] = id;
        }

        var merges = new List<(float Score, int Id, int Split, string Left, string Right)>();
        for (int id = Llama2cVocabulary.FirstByteId + 256; id < pieces.Length; id++)
        {
            string piece = pieces[id];
            foreach (int split in CodePointBoundaries(piece))
            {
                string left = piece[..split];
                string right = piece[split..];
                if (ids.ContainsKey(left) && ids.ContainsKey(right))
                {
                    merges.Add((vocabulary.Scores[id], id, split, left, right));
                }
            }
        }

        merges.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id != b.Id ? a.Id.CompareTo(b.Id) : a.Split.CompareTo(b.Split));
        return merges.ConvertAll(m => (m.Left, m.Right));
    }

    private static IEnumerable<int> CodePointBoundaries(string piece)
    {
        for (int i = 1; i < piece.Length; i++)
        {
            if (!char.IsLowSurrogate(piece[i]))
            {
                yield return i;
            }
        }
    }

    private static void WriteTokenizer(string[] pieces, List<(string Left, string Right)> merges, string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");

        json.WriteStartArray("added_tokens");
        for (int id = 0; id < SpecialTokens.Length; id++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", SpecialTokens[id]);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", true);
            json.WriteEndObject();
        }

        json.WriteEndArray();

        // SentencePiece's dummy prefix, then spaces as '▁'.
        json.WriteStartObject("normalizer");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("normalizers");
        json.WriteStartObject();
        json.WriteString("type", "Prepend");
        json.WriteString("prepend", WordBoundary.ToString());
        json.WriteEndObject();
        WriteReplace(json, " ", WordBoundary.ToString());
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNull("pre_tokenizer");
        json.WriteNull("post_processor");

        json.WriteStartObject("decoder");
        json.WriteString("type", "Sequence");
        json.WriteStartArray("decoders");
        WriteReplace(json, WordBoundary.ToString(), " ");
        json.WriteStartObject();
        json.WriteString("type", "ByteFallback");
        json.WriteEndObject();
        json.WriteStartObject();
        json.WriteString("type", "Fuse");
        json.WriteEndObject();
        json.WriteStartObject();
        json.WriteString("type", "Strip");
        json.WriteString("content", " ");
        json.WriteNumber("start", 1);
        json.WriteNumber("stop", 0);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteString("unk_token", SpecialTokens[Llama2cVocabulary.UnknownId]);
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", true);
        json.WriteBoolean("byte_fallback", true);
        json.WriteBoolean("ignore_merges", false);
        json.WriteStartObject("vocab");
        for (int id = 0; id < pieces.Length; id++)
        {
            json.WriteNumber(pieces[id], id);
        }

        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right) in merges)
        {
            json.WriteStringValue($"{left} {right}");
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteReplace(Utf8JsonWriter json, string pattern, string content)
    {
        json.WriteStartObject();
        json.WriteString("type", "Replace");
        json.WriteStartObject("pattern");
        json.WriteString("String", pattern);
        json.WriteEndObject();
        json.WriteString("content", content);
        json.WriteEndObject();
    }

    private static void WriteConfig(string path, int contextLength)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteBoolean("add_bos_token", true);
        json.WriteBoolean("add_eos_token", false);
        json.WriteString("bos_token", SpecialTokens[Llama2cVocabulary.BosId]);
        json.WriteString("eos_token", SpecialTokens[Llama2cVocabulary.EosId]);
        json.WriteString("unk_token", SpecialTokens[Llama2cVocabulary.UnknownId]);
        json.WriteBoolean("clean_up_tokenization_spaces", false);
        json.WriteBoolean("legacy", false);
        json.WriteNumber("model_max_length", contextLength);
        json.WriteString("tokenizer_class", "LlamaTokenizer");
        json.WriteEndObject();
    }
}
