using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeLlm.Core.Catalog;

/// <summary>
/// The checks after a catalog entry (or a folder's description) has been read: each field against its
/// <see cref="CatalogRules"/>, naming <paramref name="where"/> and the field of each fault.
/// </summary>
internal readonly partial struct EntryCheck(string where, string? baseDirectory)
{
    public CatalogModel Model(ModelEntry? entry)
    {
        entry ??= new ModelEntry();
        string id = Required("id", entry.Id);
        var check = new EntryCheck($"{where} \"{id}\"", baseDirectory);
        string format = check.Required("format", entry.Format);
        if (!ModelFormats.All.Contains(format))
        {
            throw check.Fail("format", $"must be one of {string.Join(", ", ModelFormats.All)}");
        }

        bool local = format != ModelFormats.OpenAi;
        var model = new CatalogModel
        {
            Id = id,
            Format = format,
            Tier = (int)check.Number(CatalogRules.Tier, entry.Tier, required: true),
            Family = entry.Family ?? "",
            Parameters = (long)check.Number(CatalogRules.Parameters, entry.Parameters, required: local),
            Quantization = entry.Quantization ?? "",
            Bytes = (long)check.Number(CatalogRules.Bytes, entry.Bytes, required: local),
            RamBytes = (long)check.Number(CatalogRules.RamBytes, entry.RamBytes, required: local),
            KvBytesPerToken = (long)check.Number(CatalogRules.KvBytesPerToken, entry.KvBytesPerToken, required: false),
            ContextLength = (int)check.Number(CatalogRules.ContextLength, entry.ContextLength, required: true),
            Domains = check.Qualities("domains", entry.Domains, required: true),
            Subdomains = check.Qualities("subdomains", entry.Subdomains, required: false),
            Rates = check.Rates(entry.Rates),
            CostPer1kTokens = check.Number(CatalogRules.CostPer1kTokens, entry.CostPer1kTokens, required: false),
            Licence = entry.Licence ?? "",
            Contents = check.Contents(entry.Contents),
            Sources = check.Sources(entry.Sources, required: local),
            ThirdParty = entry.ThirdParty ?? false,
            Endpoint = entry.Endpoint,
        };

        if (format == ModelFormats.OpenAi && (model.Endpoint is null || !Uri.TryCreate(model.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw check.Fail("endpoint", "must be the http(s) address of the OpenAI-compatible endpoint");
        }

        if (format == ModelFormats.Llama2c && model.Sources.Any(s => s.Tokenizer is null))
        {
            throw check.Fail("sources", "of a llama2c model must each name a \"tokenizer\" source");
        }

        if (format == ModelFormats.Hf && model.Sources.Any(s => s.Hub?.Files.Contains("config.json") != true))
        {
            throw check.Fail("sources", "of an hf model must each be a hub repository whose files include config.json");
        }

        return model;
    }

    /// <summary>A folder's own description: its id is the folder's name unless it names one; always an onnx-genai folder.</summary>
    public CatalogModel Description(ModelEntry entry, string folderName, int tier) => new()
    {
        Id = entry.Id is { Length: > 0 } id ? id : folderName,
        Tier = tier,
        Format = ModelFormats.OnnxGenAi,
        Family = entry.Family ?? "",
        Parameters = (long)Number(CatalogRules.Parameters, entry.Parameters, required: false),
        Quantization = entry.Quantization ?? "",
        RamBytes = (long)Number(CatalogRules.RamBytes, entry.RamBytes, required: false),
        KvBytesPerToken = (long)Number(CatalogRules.KvBytesPerToken, entry.KvBytesPerToken, required: false),
        ContextLength = (int)Number(CatalogRules.ContextLength, entry.ContextLength, required: false),
        Domains = Qualities("domains", entry.Domains, required: true),
        Subdomains = Qualities("subdomains", entry.Subdomains, required: false),
        Rates = Rates(entry.Rates),
        Licence = entry.Licence ?? "",
    };

    public CatalogException Fail(string field, string problem) => new($"{where}: \"{field}\" {problem}");

    private string Required(string field, string? value) =>
        value is { Length: > 0 } ? value : throw Fail(field, "is required (a non-empty string)");

    private double Number(NumberRule rule, double? value, bool required) => value switch
    {
        null => required ? throw Fail(rule.Field, "is required") : 0,
        double number when rule.Holds(number) => number,
        _ => throw Fail(rule.Field, rule.Problem),
    };

    private Dictionary<string, double> Qualities(string field, Dictionary<string, double>? qualities, bool required)
    {
        if (qualities is null)
        {
            return required ? throw Fail(field, "is required (a map of domain to quality from 0 to 1)") : [];
        }

        if (qualities.FirstOrDefault(q => q.Value is < 0 or > 1) is { Key: not null } bad)
        {
            throw Fail($"{field}.{bad.Key}", CatalogRules.Quality);
        }

        return required && qualities.Count == 0 ? throw Fail(field, "must name at least one domain") : new(qualities, StringComparer.Ordinal);
    }

    private Dictionary<string, ModelRate> Rates(Dictionary<string, RateEntry?>? rates)
    {
        var checkedRates = new Dictionary<string, ModelRate>(StringComparer.Ordinal);
        foreach (var (board, rate) in rates ?? [])
        {
            var check = new EntryCheck($"{where} rates.{board}", baseDirectory);
            checkedRates[board] = new ModelRate(
                check.Number(CatalogRules.DecodeRate, rate?.DecodeTokensPerSecond, required: true),
                check.Number(CatalogRules.PrefillRate, rate?.PrefillTokensPerSecond, required: true),
                rate?.Estimated ?? false);
        }

        return checkedRates;
    }

    private Dictionary<string, string> Contents(Dictionary<string, string?>? contents)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, sha256) in contents ?? [])
        {
            if (file.Length == 0 || file.IndexOfAny(['/', '\\']) >= 0 || file is "." or "..")
            {
                throw Fail($"contents.{file}", "must name a file of the model folder (no path)");
            }

            hashes[file] = sha256 is not null && Sha256().IsMatch(sha256) ? sha256 : throw Fail($"contents.{file}", CatalogRules.Sha256);
        }

        return hashes;
    }

    private List<ModelSource> Sources(List<SourceEntry?>? sources, bool required)
    {
        if (sources is null or [])
        {
            return required ? throw Fail("sources", "must list at least one source {\"url\", \"sha256\"}") : [];
        }

        var checkedSources = new List<ModelSource>(sources.Count);
        for (int index = 0; index < sources.Count; index++)
        {
            checkedSources.Add(new EntryCheck($"{where} sources[{index}]", baseDirectory).Source(sources[index], withTokenizer: true));
        }

        return checkedSources;
    }

    private ModelSource Source(SourceEntry? source, bool withTokenizer)
    {
        if (source?.Hf is not null)
        {
            return ModelSource.FromHub(Hub(source));
        }

        // A url source's sha256 is a string; only an hf source maps files to theirs.
        string? listed = source?.Sha256 switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } text => text.GetString(),
            _ => throw Fail("sha256", CatalogRules.ProblemOf("sha256")),
        };
        string url = ResolveUrl(Required("url", source?.Url));
        string sha256 = Required("sha256", listed);
        if (!Sha256().IsMatch(sha256))
        {
            throw Fail("sha256", CatalogRules.Sha256);
        }

        var tokenizer = withTokenizer && source?.Tokenizer is { } nested
            ? new EntryCheck($"{where} tokenizer", baseDirectory).Source(nested, withTokenizer: false)
            : null;
        return new ModelSource(url, sha256, tokenizer);
    }

    // A repository "owner/name" as the hub names it, a revision, and files under the subfolder, each with an optional sha256.
    private HubSource Hub(SourceEntry source)
    {
        string repo = source.Hf!;
        if (!HubRepo().IsMatch(repo))
        {
            throw Fail("hf", $"'{repo}' is not a hub repository (owner/name)");
        }

        string revision = source.Revision ?? "main";
        if (revision.Length == 0 || revision.Any(char.IsWhiteSpace))
        {
            throw Fail("revision", "must be a branch, a tag or a commit");
        }

        string subfolder = (source.Subfolder ?? "").Trim('/');
        if (subfolder.Split('/').Any(part => part is ".." or "."))
        {
            throw Fail("subfolder", "must be a folder of the repository");
        }

        if (source.Files is not { Count: > 0 } listed || listed.Any(f => f is null || !IsRepositoryPath(f)))
        {
            throw Fail("files", "must list the files to fetch, as paths within the repository (no \"..\", no leading \"/\")");
        }

        string[] files = [.. listed.Select(f => f!)];
        var sha256 = new Dictionary<string, string>(StringComparer.Ordinal);
        if (source.Sha256 is { ValueKind: not JsonValueKind.Null } hashes)
        {
            if (hashes.ValueKind != JsonValueKind.Object)
            {
                throw Fail("sha256", "of an hf source must map its files to their sha256");
            }

            foreach (var hash in hashes.EnumerateObject())
            {
                if (!files.Contains(hash.Name))
                {
                    throw Fail($"sha256.{hash.Name}", "names a file the source does not list");
                }

                sha256[hash.Name] = hash.Value.ValueKind == JsonValueKind.String && Sha256().IsMatch(hash.Value.GetString()!) ? hash.Value.GetString()! : throw Fail($"sha256.{hash.Name}", CatalogRules.Sha256);
            }
        }

        return new HubSource(repo, revision, subfolder, files, sha256);
    }

    private static bool IsRepositoryPath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && path.Split('/').All(part => part.Length > 0 && part is not ".." and not ".");

    // An absolute http(s) or file URL as it is; a relative one (no scheme) is a file beside the catalog.
    private string ResolveUrl(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return uri.Scheme is "https" or "http" or "file" ? url : throw Fail("url", "must be an https, http or file URL, or a path relative to the catalog");
        }

        return baseDirectory is null
            ? throw Fail("url", $"'{url}' is relative, but this catalog has no folder to resolve it against")
            : new Uri(Path.GetFullPath(Path.Combine(baseDirectory, url))).AbsoluteUri;
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex HubRepo();
}
