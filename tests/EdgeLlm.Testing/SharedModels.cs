using System.Text.Json;
using Xunit;

namespace EdgeLlm.Tests;

/// <summary>
/// The project's test data in ../shared/models beside the repository (stories260K with llama2.c's reference
/// outputs). EDGELLM_SHARED_MODELS points elsewhere. Tests that need it skip with a message when it is absent.
/// </summary>
public static class SharedModels
{
    public static readonly string? Folder = Locate();

    public static bool Available => Folder is not null;

    public static string SkipReason =>
        "the test models are absent: expected ../shared/models beside the repository (or EDGELLM_SHARED_MODELS) holding stories260K.bin, tok512.bin and stories260K.reference.json";

    public static string Checkpoint => Path.Combine(Require(), "stories260K.bin");

    public static string Tokenizer => Path.Combine(Require(), "tok512.bin");

    public static JsonElement Reference
    {
        get
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Require(), "stories260K.reference.json")));
            return document.RootElement.Clone();
        }
    }

    public static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static string Require() => Folder ?? throw new InvalidOperationException(SkipReason);

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable("EDGELLM_SHARED_MODELS") is { Length: > 0 } configured)
        {
            return HasModels(configured) ? configured : null;
        }

        if (Repository.Root is not string root)
        {
            return null;
        }

        string candidate = Path.GetFullPath(Path.Combine(root, "..", "shared", "models"));
        return HasModels(candidate) ? candidate : null;
    }

    private static bool HasModels(string folder) =>
        File.Exists(Path.Combine(folder, "stories260K.bin"))
        && File.Exists(Path.Combine(folder, "tok512.bin"))
        && File.Exists(Path.Combine(folder, "stories260K.reference.json"));
}

/// <summary>A fact that needs <see cref="SharedModels"/>; skipped with the reason when they are absent.</summary>
public sealed class SharedModelFactAttribute : FactAttribute
{
    public SharedModelFactAttribute()
    {
        if (!SharedModels.Available)
        {
            Skip = SharedModels.SkipReason;
        }
    }
}

/// <summary>A theory that needs <see cref="SharedModels"/>; skipped with the reason when they are absent.</summary>
public sealed class SharedModelTheoryAttribute : TheoryAttribute
{
    public SharedModelTheoryAttribute()
    {
        if (!SharedModels.Available)
        {
            Skip = SharedModels.SkipReason;
        }
    }
}
