using System.Text;
using EdgeLlm.Onnx.Checkpoints;

namespace EdgeLlm.Onnx.Tests.Building;

/// <summary>
/// llama2.c run.c's encode(), transcribed as the oracle for the tokenizer.json the builder writes: BOS, a
/// dummy-prefix space unless the text is empty, one token per UTF-8 code point (bytes + 3 when the code point
/// is not a piece), then repeatedly the adjacent pair whose concatenation has the highest score, leftmost first.
/// </summary>
internal static class Llama2cReferenceEncoder
{
    public static List<int> Encode(Llama2cVocabulary vocabulary, string text)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = vocabulary.Count - 1; id >= 0; id--)
        {
            ids[Latin1(vocabulary.Pieces[id])] = id;
        }

        var tokens = new List<int> { Llama2cVocabulary.BosId };
        if (text.Length > 0)
        {
            tokens.Add(ids[" "]);
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < bytes.Length;)
        {
            int length = 1;
            while (i + length < bytes.Length && (bytes[i + length] & 0xC0) == 0x80 && length < 4)
            {
                length++;
            }

            if (ids.TryGetValue(Latin1(bytes.AsSpan(i, length)), out int id))
            {
                tokens.Add(id);
            }
            else
            {
                for (int b = 0; b < length; b++)
                {
                    tokens.Add(bytes[i + b] + Llama2cVocabulary.FirstByteId);
                }
            }

            i += length;
        }

        while (true)
        {
            float bestScore = -1e10f;
            int bestId = -1;
            int bestIndex = -1;
            // BOS takes no part in merges: run.c only merges after it because "\n<s>\n" joins nothing.
            for (int i = 0; i < tokens.Count - 1; i++)
            {
                string merged = Latin1(vocabulary.Pieces[tokens[i]]) + Latin1(vocabulary.Pieces[tokens[i + 1]]);
                if (ids.TryGetValue(merged, out int id) && vocabulary.Scores[id] > bestScore)
                {
                    bestScore = vocabulary.Scores[id];
                    bestId = id;
                    bestIndex = i;
                }
            }

            if (bestIndex == -1)
            {
                return tokens;
            }

            tokens[bestIndex] = bestId;
            tokens.RemoveAt(bestIndex + 1);
        }
    }

    // Compares pieces byte for byte, as run.c's strcmp does.
    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
