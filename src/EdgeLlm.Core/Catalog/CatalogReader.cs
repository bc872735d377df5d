using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeLlm.Core.Catalog;

/// <summary>A catalog file that cannot be used, with the entry and field at fault.</summary>
public sealed class CatalogException(string message) : Exception(message);

/// <summary>
/// Reads models/catalog.json (docs/design.md, "Catalog and store"), checking every entry and naming the entry
/// and field of each fault. The file is plain JSON (no comments, so that jq and Python read it too); notes go
/// in "notes" fields, which are ignored. A source url without a scheme is a file beside the catalog.
/// </summary>
public static partial class CatalogReader
{
    /// <summary>The file a model folder may carry beside its genai_config.json to describe itself (domains, quality, rates).</summary>
    public const string DescriptionFile = "edgellm.json";

    public static ModelCatalog Read(string path) => Parse(ReadFile(path), path, Path.GetDirectoryName(Path.GetFullPath(path)));

    /// <param name="baseDirectory">Where relative source urls point into; null refuses them.</param>
    public static ModelCatalog Parse(ReadOnlySpan<byte> json, string source, string? baseDirectory = null)
    {
        using var document = ParseJson(json, source);
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
            {
                throw new CatalogException($"{source}: expected an object with a \"models\" array");
            }

            var entries = new List<CatalogModel>();
            int index = 0;
            foreach (var model in models.EnumerateArray())
            {
                var entry = ReadModel(new Fields(model, $"{source}: models[{index}]", baseDirectory));
                if (entries.Any(e => e.Id == entry.Id))
                {
                    throw new CatalogException($"{source}: models[{index}] \"{entry.Id}\": the id is used twice");
                }

                entries.Add(entry);
                index++;
            }

            var keywords = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (root.TryGetProperty("domainKeywords", out var domains))
            {
                if (domains.ValueKind != JsonValueKind.Object)
                {
                    throw new CatalogException($"{source}: \"domainKeywords\" must map domains to arrays of keywords");
                }

                foreach (var domain in domains.EnumerateObject())
                {
                    if (domain.Value.ValueKind != JsonValueKind.Array || domain.Value.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.String || k.GetString()!.Trim().Length == 0))
                    {
                        throw new CatalogException($"{source}: domainKeywords \"{domain.Name}\" must be an array of non-empty strings");
                    }

                    keywords[domain.Name] = [.. domain.Value.EnumerateArray().Select(k => Routing.DomainClassifier.Normalise(k.GetString()!))];
                }
            }

            return new ModelCatalog(entries, keywords);
        }
    }

    /// <summary>
    /// A model folder's own description (its <see cref="DescriptionFile"/>): a catalog entry's fields, all
    /// optional but "domains", for a folder the catalog does not know. Its id is the folder's name unless it
    /// names one; it is always an onnx-genai folder.
    /// </summary>
    public static CatalogModel ReadDescription(string path, string folderName, int tier)
    {
        using var document = ParseJson(ReadFile(path), path);
        var fields = new Fields(document.RootElement, path, baseDirectory: null);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new CatalogException($"{path}: expected an object describing the model (\"domains\" at least)");
        }

        return new CatalogModel
        {
            Id = fields.OptionalString("id") is { Length: > 0 } id ? id : folderName,
            Tier = tier,
            Format = ModelFormats.OnnxGenAi,
            Family = fields.OptionalString("family") ?? "",
            Parameters = (long)fields.Number("parameters", 1, double.MaxValue, required: false, whole: true),
            Quantization = fields.OptionalString("quantization") ?? "",
            RamBytes = (long)fields.Number("ramBytes", 1, double.MaxValue, required: false, whole: true),
            KvBytesPerToken = (long)fields.Number("kvBytesPerToken", 0, double.MaxValue, required: false, whole: true),
            ContextLength = (int)fields.Number("contextLength", 1, int.MaxValue, required: false, whole: true),
            Domains = fields.Qualities("domains", required: true),
            Subdomains = fields.Qualities("subdomains", required: false),
            Rates = fields.Rates("rates"),
            Licence = fields.OptionalString("licence") ?? "",
        };
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CatalogException($"{path}: {e.Message}");
        }
    }

    private static JsonDocument ParseJson(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            string hint = json.IndexOf("//"u8) >= 0 || json.IndexOf("/*"u8) >= 0 ? "; comments are not JSON: put notes in a \"notes\" field" : "";
            throw new CatalogException($"{source}: not valid JSON ({e.Message}{hint})");
        }
    }

    private static CatalogModel ReadModel(Fields fields)
    {
        string id = fields.RequiredString("id");
        fields = fields.Named(id);
        string format = fields.RequiredString("format");
        if (!ModelFormats.All.Contains(format))
        {
            throw fields.Fail("format", $"must be one of {string.Join(", ", ModelFormats.All)}");
        }

        bool local = format != ModelFormats.OpenAi;
        var model = new CatalogModel
        {
            Id = id,
            Format = format,
            Tier = (int)fields.Number("tier", 0, 9, required: true, whole: true),
            Family = fields.OptionalString("family") ?? "",
            Parameters = (long)fields.Number("parameters", 1, double.MaxValue, required: local, whole: true),
            Quantization = fields.OptionalString("quantization") ?? "",
            Bytes = (long)fields.Number("bytes", 0, double.MaxValue, required: local, whole: true),
            RamBytes = (long)fields.Number("ramBytes", 1, double.MaxValue, required: local, whole: true),
            KvBytesPerToken = (long)fields.Number("kvBytesPerToken", 0, double.MaxValue, required: false, whole: true),
            ContextLength = (int)fields.Number("contextLength", 1, int.MaxValue, required: true, whole: true),
            Domains = fields.Qualities("domains", required: true),
            Subdomains = fields.Qualities("subdomains", required: false),
            Rates = fields.Rates("rates"),
            CostPer1kTokens = fields.Number("costPer1kTokens", 0, double.MaxValue, required: false, whole: false),
            Licence = fields.OptionalString("licence") ?? "",
            Contents = fields.Hashes("contents"),
            Sources = fields.Sources("sources", required: local),
            ThirdParty = fields.Boolean("thirdParty"),
            Endpoint = fields.OptionalString("endpoint"),
        };

        if (format == ModelFormats.OpenAi && (model.Endpoint is null || !Uri.TryCreate(model.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw fields.Fail("endpoint", "must be the http(s) address of the OpenAI-compatible endpoint");
        }

        if (format == ModelFormats.Llama2c && model.Sources.Any(s => s.Tokenizer is null))
        {
            throw fields.Fail("sources", "of a llama2c model must each name a \"tokenizer\" source");
        }

        return model;
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256();

    private readonly struct Fields(JsonElement element, string where, string? baseDirectory)
    {
        public Fields Named(string id) => new(element, $"{where} \"{id}\"", baseDirectory);

        public CatalogException Fail(string field, string problem) => new($"{where}: \"{field}\" {problem}");

        public string RequiredString(string name) =>
            OptionalString(name) is { Length: > 0 } value ? value : throw Fail(name, "is required (a non-empty string)");

        public string? OptionalString(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            _ => throw Fail(name, "must be a string"),
        };

        public bool Boolean(string name) => Get(name) switch
        {
            null => false,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw Fail(name, "must be true or false"),
        };

        public double Number(string name, double minimum, double maximum, bool required, bool whole)
        {
            var value = Get(name);
            if (value is null)
            {
                return required ? throw Fail(name, "is required") : 0;
            }

            if (value.Value.ValueKind != JsonValueKind.Number || value.Value.GetDouble() is var number && (number < minimum || number > maximum || (whole && number != Math.Floor(number))))
            {
                string range = maximum == double.MaxValue ? $"at least {minimum.ToString(CultureInfo.InvariantCulture)}" : $"from {minimum.ToString(CultureInfo.InvariantCulture)} to {maximum.ToString(CultureInfo.InvariantCulture)}";
                throw Fail(name, $"must be {(whole ? "a whole number" : "a number")} {range}");
            }

            return number;
        }

        public Dictionary<string, double> Qualities(string name, bool required)
        {
            var qualities = new Dictionary<string, double>(StringComparer.Ordinal);
            var value = Get(name);
            if (value is null)
            {
                return required ? throw Fail(name, "is required (a map of domain to quality from 0 to 1)") : qualities;
            }

            if (value.Value.ValueKind != JsonValueKind.Object)
            {
                throw Fail(name, "must map names to a quality from 0 to 1");
            }

            foreach (var entry in value.Value.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || entry.Value.GetDouble() is < 0 or > 1)
                {
                    throw Fail($"{name}.{entry.Name}", "must be a quality from 0 to 1");
                }

                qualities[entry.Name] = entry.Value.GetDouble();
            }

            return required && qualities.Count == 0 ? throw Fail(name, "must name at least one domain") : qualities;
        }

        public Dictionary<string, ModelRate> Rates(string name)
        {
            var rates = new Dictionary<string, ModelRate>(StringComparer.Ordinal);
            if (Get(name) is not JsonElement value)
            {
                return rates;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                throw Fail(name, "must map board classes to {\"decodeTokensPerSecond\", \"prefillTokensPerSecond\"}");
            }

            foreach (var board in value.EnumerateObject())
            {
                var rate = new Fields(board.Value, $"{where} {name}.{board.Name}", baseDirectory);
                rates[board.Name] = new ModelRate(
                    rate.Number("decodeTokensPerSecond", double.Epsilon, double.MaxValue, required: true, whole: false),
                    rate.Number("prefillTokensPerSecond", double.Epsilon, double.MaxValue, required: true, whole: false));
            }

            return rates;
        }

        public List<ModelSource> Sources(string name, bool required)
        {
            var sources = new List<ModelSource>();
            var value = Get(name);
            if (value is null || (value.Value.ValueKind == JsonValueKind.Array && value.Value.GetArrayLength() == 0))
            {
                return required ? throw Fail(name, "must list at least one source {\"url\", \"sha256\"}") : sources;
            }

            if (value.Value.ValueKind != JsonValueKind.Array)
            {
                throw Fail(name, "must be an array of {\"url\", \"sha256\"}");
            }

            int index = 0;
            foreach (var source in value.Value.EnumerateArray())
            {
                var fields = new Fields(source, $"{where} {name}[{index++}]", baseDirectory);
                sources.Add(fields.Source(withTokenizer: true));
            }

            return sources;
        }

        /// <summary>A map of file name to sha256, e.g. the files that identify a model folder.</summary>
        public Dictionary<string, string> Hashes(string name)
        {
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Get(name) is not JsonElement value)
            {
                return hashes;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                throw Fail(name, "must map file names to their sha256");
            }

            foreach (var file in value.EnumerateObject())
            {
                if (file.Name.Length == 0 || file.Name.IndexOfAny(['/', '\\']) >= 0 || file.Name is "." or "..")
                {
                    throw Fail($"{name}.{file.Name}", "must name a file of the model folder (no path)");
                }

                if (file.Value.ValueKind != JsonValueKind.String || !Sha256().IsMatch(file.Value.GetString()!))
                {
                    throw Fail($"{name}.{file.Name}", "must be 64 lowercase hex digits");
                }

                hashes[file.Name] = file.Value.GetString()!;
            }

            return hashes;
        }

        private ModelSource Source(bool withTokenizer)
        {
            string url = ResolveUrl(RequiredString("url"));

            string sha256 = RequiredString("sha256");
            if (!Sha256().IsMatch(sha256))
            {
                throw Fail("sha256", "must be 64 lowercase hex digits");
            }

            ModelSource? tokenizer = null;
            if (withTokenizer && Get("tokenizer") is JsonElement nested)
            {
                tokenizer = new Fields(nested, $"{where} tokenizer", baseDirectory).Source(withTokenizer: false);
            }

            return new ModelSource(url, sha256, tokenizer);
        }

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

        private JsonElement? Get(string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }
}
