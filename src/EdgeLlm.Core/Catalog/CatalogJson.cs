using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeLlm.Core.Catalog;

/// <summary>models/catalog.json as written, before any check (docs/design.md §6); "notes" and other unknown fields are skipped.</summary>
internal sealed class CatalogFile
{
    public List<ModelEntry?>? Models { get; init; }

    public Dictionary<string, List<string?>?>? DomainKeywords { get; init; }
}

/// <summary>One catalog entry, or a model folder's own edgellm.json, as written.</summary>
internal sealed class ModelEntry
{
    public string? Id { get; init; }

    public string? Format { get; init; }

    // Whole numbers too are read as double, so that 1.5 is out of bounds rather than a value of another kind.
    public double? Tier { get; init; }

    public string? Family { get; init; }

    public double? Parameters { get; init; }

    public string? Quantization { get; init; }

    public double? Bytes { get; init; }

    public double? RamBytes { get; init; }

    public double? KvBytesPerToken { get; init; }

    public double? ContextLength { get; init; }

    public Dictionary<string, double>? Domains { get; init; }

    public Dictionary<string, double>? Subdomains { get; init; }

    public Dictionary<string, RateEntry?>? Rates { get; init; }

    public double? CostPer1kTokens { get; init; }

    public string? Licence { get; init; }

    public Dictionary<string, string?>? Contents { get; init; }

    public List<SourceEntry?>? Sources { get; init; }

    public bool? ThirdParty { get; init; }

    public string? Endpoint { get; init; }
}

internal sealed class RateEntry
{
    public double? DecodeTokensPerSecond { get; init; }

    public double? PrefillTokensPerSecond { get; init; }

    public bool? Estimated { get; init; }
}

/// <summary>A source as written: a "url" with its "sha256" (a string), or an "hf" repository with its "files" (and "sha256" a map).</summary>
internal sealed class SourceEntry
{
    public string? Url { get; init; }

    public JsonElement? Sha256 { get; init; }

    public SourceEntry? Tokenizer { get; init; }

    public string? Hf { get; init; }

    public string? Revision { get; init; }

    public string? Subfolder { get; init; }

    public List<string?>? Files { get; init; }
}

/// <summary>Just the entries' ids, to name the entry of a value of the wrong kind.</summary>
internal sealed class CatalogIds
{
    public List<EntryId?>? Models { get; init; }
}

internal sealed class EntryId
{
    public string? Id { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CatalogFile))]
[JsonSerializable(typeof(ModelEntry))]
[JsonSerializable(typeof(CatalogIds))]
internal sealed partial class CatalogJson : JsonSerializerContext;
