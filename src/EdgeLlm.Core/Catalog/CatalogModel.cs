namespace EdgeLlm.Core.Catalog;

/// <summary>How a catalog model is stored or reached.</summary>
public static class ModelFormats
{
    /// <summary>A model folder in the ONNX Runtime GenAI layout.</summary>
    public const string OnnxGenAi = "onnx-genai";

    /// <summary>A llama2.c checkpoint and tokenizer, converted to a model folder on arrival.</summary>
    public const string Llama2c = "llama2c";

    /// <summary>A Hugging Face model (config.json, safetensors, its tokenizer), converted to a model folder on arrival.</summary>
    public const string Hf = "hf";

    /// <summary>An OpenAI-compatible HTTP endpoint (vLLM, Ollama, llama.cpp server, a hosted API).</summary>
    public const string OpenAi = "openai";

    public static IReadOnlyList<string> All { get; } = [OnnxGenAi, Llama2c, Hf, OpenAi];
}

/// <summary>Generation speed on one class of board.</summary>
/// <param name="Estimated">True for a rate worked out (from the board's memory bandwidth and the model's bytes) rather than measured.</param>
public sealed record ModelRate(double DecodeTokensPerSecond, double PrefillTokensPerSecond, bool Estimated = false);

/// <summary>
/// Where a model's files come from: a URL with its sha256 (a llama2.c model names its tokenizer too), or files
/// of a Hugging Face hub repository (<see cref="Hub"/>, whose <see cref="Url"/> is hf://{repo}@{revision}).
/// </summary>
public sealed record ModelSource(string Url, string Sha256, ModelSource? Tokenizer = null, HubSource? Hub = null)
{
    public static ModelSource FromHub(HubSource hub) => new(hub.Address, "", Hub: hub);
}

/// <summary>
/// Files of a Hugging Face hub repository at a revision (a branch, a tag or a commit), paths relative to
/// <see cref="Subfolder"/>, each with the sha256 the catalog knows (else the hub's own hashes verify them).
/// </summary>
public sealed record HubSource(string Repo, string Revision, string Subfolder, IReadOnlyList<string> Files, IReadOnlyDictionary<string, string> Sha256)
{
    /// <summary>How the source is named in messages and remembered when it fails.</summary>
    public string Address => $"hf://{Repo}@{Revision}{(Subfolder.Length > 0 ? "/" + Subfolder : "")}";

    /// <summary>The file's path in the repository.</summary>
    public string PathOf(string file) => Subfolder.Length > 0 ? $"{Subfolder}/{file}" : file;
}

/// <summary>One model a node may use (docs/design.md §6).</summary>
public sealed record CatalogModel
{
    public required string Id { get; init; }

    public int Tier { get; init; }

    public string Family { get; init; } = "";

    public required string Format { get; init; }

    public long Parameters { get; init; }

    public string Quantization { get; init; } = "";

    /// <summary>Bytes on disk.</summary>
    public long Bytes { get; init; }

    /// <summary>RAM to load it, weights and runtime, before any key/value cache.</summary>
    public long RamBytes { get; init; }

    /// <summary>Key/value cache per token of context (2 × layers × kv heads × head size × 4 bytes for float32).</summary>
    public long KvBytesPerToken { get; init; }

    public int ContextLength { get; init; }

    /// <summary>Quality 0 to 1 for each domain the model covers.</summary>
    public IReadOnlyDictionary<string, double> Domains { get; init; } = new Dictionary<string, double>();

    /// <summary>Quality 0 to 1 for subdomains, where better or worse than its domain.</summary>
    public IReadOnlyDictionary<string, double> Subdomains { get; init; } = new Dictionary<string, double>();

    /// <summary>Rates by board class ("pi4", "pi5", "x64", "server"…), measured or marked estimated.</summary>
    public IReadOnlyDictionary<string, ModelRate> Rates { get; init; } = new Dictionary<string, ModelRate>();

    /// <summary>Price per 1,000 tokens (prompt and answer) for paid endpoints; 0 for own hardware.</summary>
    public double CostPer1kTokens { get; init; }

    public string Licence { get; init; } = "";

    public IReadOnlyList<ModelSource> Sources { get; init; } = [];

    /// <summary>
    /// The sha256 of the files that identify its model folder (genai_config.json and the weights), so that a
    /// folder given by hand under another name is known for what it is; `edgellm model info` prints them.
    /// </summary>
    public IReadOnlyDictionary<string, string> Contents { get; init; } = new Dictionary<string, string>();

    /// <summary>Run by someone outside the fleet (a hosted API): `privacy: fleet` never goes there.</summary>
    public bool ThirdParty { get; init; }

    /// <summary>The base address of an OpenAI-compatible endpoint (format "openai").</summary>
    public string? Endpoint { get; init; }

    /// <summary>A model the store can pull: a local format with at least one source to download.</summary>
    public bool CanBePulled => Format is ModelFormats.Llama2c or ModelFormats.OnnxGenAi or ModelFormats.Hf && Sources.Count > 0;

    /// <summary>A domain key that covers every domain (a general-purpose endpoint).</summary>
    public const string AnyDomain = "*";

    /// <summary>
    /// The quality for a domain and subdomain: the subdomain's when listed, else the domain's (or that of
    /// <see cref="AnyDomain"/>); null when not covered.
    /// </summary>
    public double? QualityFor(string domain, string? subdomain)
    {
        if (!Domains.TryGetValue(domain, out double quality) && !Domains.TryGetValue(AnyDomain, out quality))
        {
            return null;
        }

        return subdomain is not null && Subdomains.TryGetValue(subdomain, out double special) ? special : quality;
    }

    /// <summary>A model served here that the catalog does not describe: general, of unknown size and speed.</summary>
    public static CatalogModel Uncatalogued(string id, int tier) =>
        new() { Id = id, Tier = tier, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["general"] = 0 } };

    /// <summary>The rate on <paramref name="boardClass"/>, else the slowest rate listed (a board not measured is assumed slow).</summary>
    public ModelRate? RateOn(string boardClass) =>
        Rates.TryGetValue(boardClass, out var rate) ? rate : Rates.Values.MinBy(r => r.DecodeTokensPerSecond);
}

/// <summary>The models a node may use, and the keywords that tell a prompt's domain.</summary>
public sealed record ModelCatalog(IReadOnlyList<CatalogModel> Models, IReadOnlyDictionary<string, IReadOnlyList<string>> DomainKeywords)
{
    public static ModelCatalog Empty { get; } = new([], new Dictionary<string, IReadOnlyList<string>>());

    public CatalogModel? Find(string id) => Models.FirstOrDefault(m => m.Id == id);

    /// <summary>This catalog, plus <paramref name="model"/> when it holds no entry of that id (an entry it has wins).</summary>
    public ModelCatalog Including(CatalogModel model) => Find(model.Id) is null ? this with { Models = [.. Models, model] } : this;
}
