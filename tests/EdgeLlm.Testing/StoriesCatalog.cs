using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace EdgeLlm.Tests;

/// <summary>
/// Catalogs (models/catalog.json's schema) of stories260K builds whose sources the test chooses: the
/// checkpoint and tokenizer of models/stories260k served over HTTP or as file URLs, with their real sha256.
/// </summary>
public static class StoriesCatalog
{
    /// <summary>Bytes on disk of each build, as the shipped catalog gives them (a test checks them against the builder's).</summary>
    public static readonly IReadOnlyDictionary<string, long> BuildBytes =
        JsonNode.Parse(File.ReadAllText(Repository.Combine("models", "catalog.json")))!["models"]!.AsArray()
            .Where(m => m!["id"]!.GetValue<string>().StartsWith("stories260k-", StringComparison.Ordinal))
            .ToDictionary(m => m!["quantization"]!.GetValue<string>(), m => m!["bytes"]!.GetValue<long>());

    /// <summary>The memory each model of <see cref="Model"/> needs to load, as its catalog entry says.</summary>
    public const long RamBytes = 50_000_000;

    public static string CheckpointSha256 { get; } = Sha256Of(StoriesFiles.Checkpoint);

    public static string TokenizerSha256 { get; } = Sha256Of(StoriesFiles.Tokenizer);

    public static string Sha256Of(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    public static string Sha256Of(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>A source: the checkpoint at <paramref name="checkpointUrl"/> (with the sha256 the catalog expects) and the tokenizer.</summary>
    public static JsonObject Source(string checkpointUrl, string tokenizerUrl, string? checkpointSha256 = null) => new()
    {
        ["url"] = checkpointUrl,
        ["sha256"] = checkpointSha256 ?? CheckpointSha256,
        ["tokenizer"] = new JsonObject { ["url"] = tokenizerUrl, ["sha256"] = TokenizerSha256 },
    };

    /// <summary>An hf source: <paramref name="files"/> of the hub repository <paramref name="repo"/>, optionally with the sha256 the catalog knows for some.</summary>
    public static JsonObject HubSource(string repo, IEnumerable<string> files, string revision = "main", IReadOnlyDictionary<string, string>? sha256 = null)
    {
        var source = new JsonObject { ["hf"] = repo, ["revision"] = revision, ["files"] = new JsonArray([.. files.Select(f => (JsonNode)f)]) };
        if (sha256 is not null)
        {
            source["sha256"] = new JsonObject([.. sha256.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)h.Value))]);
        }

        return source;
    }

    /// <summary>stories260K as a Hugging Face model (format hf) named <paramref name="id"/>, converted to <paramref name="quantization"/> on arrival.</summary>
    public static JsonObject HfModel(string id, string quantization, params JsonObject[] sources)
    {
        var model = Model(id, quantization, sources);
        model["format"] = "hf";
        return model;
    }

    /// <summary>The shared files as file URLs.</summary>
    public static JsonObject FileSource() => Source(new Uri(StoriesFiles.Checkpoint).AbsoluteUri, new Uri(StoriesFiles.Tokenizer).AbsoluteUri);

    /// <summary>A tier-0 stories260K build named <paramref name="id"/>, converted to <paramref name="quantization"/> on arrival.</summary>
    public static JsonObject Model(string id, string quantization, params JsonObject[] sources) => new()
    {
        ["id"] = id,
        ["tier"] = 0,
        ["family"] = "llama2c-tinystories",
        ["format"] = "llama2c",
        ["parameters"] = 260_032,
        ["quantization"] = quantization,
        ["bytes"] = BuildBytes[quantization],
        ["ramBytes"] = RamBytes,
        ["kvBytesPerToken"] = 1280,
        ["contextLength"] = 512,
        ["domains"] = new JsonObject { ["stories"] = 0.3, ["general"] = 0.05 },
        ["rates"] = new JsonObject { ["x64"] = new JsonObject { ["decodeTokensPerSecond"] = 5000, ["prefillTokensPerSecond"] = 40000 } },
        ["licence"] = "MIT",
        ["sources"] = new JsonArray([.. sources.Select(s => (JsonNode)s.DeepClone())]),
    };

    /// <summary>
    /// The shipped models/catalog.json as a board without internet sees it: only its internet sources (URLs
    /// and the Hugging Face hub, which this machine cannot reach), without the copy of stories260K shipped beside it. Written to <paramref name="path"/>.
    /// </summary>
    public static string ShippedWithInternetSourcesOnly(string path)
    {
        var catalog = JsonNode.Parse(File.ReadAllText(Repository.Combine("models", "catalog.json")))!.AsObject();
        foreach (var model in catalog["models"]!.AsArray().OfType<JsonObject>())
        {
            if (model["sources"] is JsonArray sources)
            {
                model["sources"] = new JsonArray([.. sources.Where(s => s!["hf"] is not null || s["url"]!.GetValue<string>().StartsWith("https://", StringComparison.Ordinal)).Select(s => s!.DeepClone())]);
            }
        }

        File.WriteAllText(path, catalog.ToJsonString());
        return path;
    }

    /// <summary>Writes a catalog of <paramref name="models"/> to <paramref name="path"/>; returns the path.</summary>
    public static string Write(string path, params JsonObject[] models)
    {
        var catalog = new JsonObject
        {
            ["version"] = 1,
            ["domainKeywords"] = new JsonObject { ["stories"] = new JsonArray("once upon", "story") },
            ["models"] = new JsonArray([.. models]),
        };
        File.WriteAllText(path, catalog.ToJsonString());
        return path;
    }
}
