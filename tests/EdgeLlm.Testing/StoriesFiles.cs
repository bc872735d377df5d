using System.Text.Json;

namespace EdgeLlm.Tests;

/// <summary>
/// The stories260K checkpoint, its tok512 tokenizer and llama2.c's reference outputs, shipped in the
/// repository's models/stories260k (MIT): every test reads its model data from there.
/// </summary>
public static class StoriesFiles
{
    public static string Folder { get; } = Repository.Combine("models", "stories260k");

    public static string Checkpoint => Path.Combine(Folder, "stories260K.bin");

    public static string Tokenizer => Path.Combine(Folder, "tok512.bin");

    /// <summary>What llama2.c's run.c produces with these files (greedy continuations, a text case, per-position argmax).</summary>
    public static JsonElement Reference
    {
        get
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "stories260K.reference.json")));
            return document.RootElement.Clone();
        }
    }

    public static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
