using System.Globalization;
using System.Text.Json;

namespace EdgeLlm.Core.Catalog;

/// <summary>A catalog file that cannot be used, with the entry and field at fault.</summary>
public sealed class CatalogException(string message) : Exception(message);

/// <summary>
/// Reads models/catalog.json (docs/design.md, "Catalog and store") from the one description in
/// <see cref="CatalogJson"/>, then checks every entry (<see cref="EntryCheck"/>), naming the entry and field of
/// each fault. The file is plain JSON (no comments, so that jq and Python read it too); notes go in "notes"
/// fields, which are skipped. A source url without a scheme is a file beside the catalog.
/// </summary>
public static class CatalogReader
{
    /// <summary>The file a model folder may carry beside its genai_config.json to describe itself (domains, quality, rates).</summary>
    public const string DescriptionFile = "edgellm.json";

    // The serializer's own default, which the syntax check that explains a refusal must share.
    private const int MaxDepth = 64;

    public static ModelCatalog Read(string path) => Parse(ReadFile(path), path, Path.GetDirectoryName(Path.GetFullPath(path)));

    /// <param name="baseDirectory">Where relative source urls point into; null refuses them.</param>
    public static ModelCatalog Parse(ReadOnlySpan<byte> json, string source, string? baseDirectory = null)
    {
        // The serializer reads strings as UTF-8 itself, but an entry's raw fields (a url source's sha256) are read later.
        if (JsonPayload.Utf8Problem(json) is string notUtf8)
        {
            throw new CatalogException($"{source}: {notUtf8}");
        }

        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, CatalogJson.Default.CatalogFile);
        }
        catch (JsonException refusal)
        {
            throw CatalogFault(JsonFault.Of(refusal, json, MaxDepth), json, source);
        }

        if (file?.Models is null)
        {
            throw new CatalogException($"{source}: {CatalogRules.Models}");
        }

        var entries = new List<CatalogModel>();
        for (int index = 0; index < file.Models.Count; index++)
        {
            var entry = new EntryCheck($"{source}: models[{index}]", baseDirectory).Model(file.Models[index]);
            if (entries.Any(e => e.Id == entry.Id))
            {
                throw new CatalogException($"{source}: models[{index}] \"{entry.Id}\": the id is used twice");
            }

            entries.Add(entry);
        }

        var keywords = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (domain, words) in file.DomainKeywords ?? [])
        {
            if (words is null || words.Any(k => string.IsNullOrWhiteSpace(k)))
            {
                throw new CatalogException($"{source}: domainKeywords \"{domain}\" {CatalogRules.Keywords}");
            }

            keywords[domain] = [.. words.Select(k => Routing.DomainClassifier.Normalise(k!))];
        }

        return new ModelCatalog(entries, keywords);
    }

    /// <summary>
    /// A model folder's own description (its <see cref="DescriptionFile"/>): a catalog entry's fields, all
    /// optional but "domains", for a folder the catalog does not know.
    /// </summary>
    public static CatalogModel ReadDescription(string path, string folderName, int tier)
    {
        byte[] json = ReadFile(path);
        if (JsonPayload.Utf8Problem(json) is string notUtf8)
        {
            throw new CatalogException($"{path}: {notUtf8}");
        }

        ModelEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(json, CatalogJson.Default.ModelEntry);
        }
        catch (JsonException refusal)
        {
            var fault = JsonFault.Of(refusal, json, MaxDepth);
            throw fault.SyntaxError is string syntax ? NotJson(path, syntax, json)
                : fault.Path is [] ? new CatalogException($"{path}: {CatalogRules.Description}")
                : EntryFault(path, fault.Path);
        }

        return entry is null
            ? throw new CatalogException($"{path}: {CatalogRules.Description}")
            : new EntryCheck(path, baseDirectory: null).Description(entry, folderName, tier);
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

    private static CatalogException NotJson(string source, string syntax, ReadOnlySpan<byte> json)
    {
        string hint = json.IndexOf("//"u8) >= 0 || json.IndexOf("/*"u8) >= 0 ? "; comments are not JSON: put notes in a \"notes\" field" : "";
        return new CatalogException($"{source}: not valid JSON ({syntax}{hint})");
    }

    // A value of the wrong kind, told in the words its check would use, at the entry and field it is in.
    private static CatalogException CatalogFault(JsonFault fault, ReadOnlySpan<byte> json, string source) => fault switch
    {
        { SyntaxError: string syntax } => NotJson(source, syntax, json),
        { Path: ["domainKeywords"] } => new CatalogException($"{source}: {CatalogRules.DomainKeywords}"),
        { Path: ["domainKeywords", var domain, ..] } => new CatalogException($"{source}: domainKeywords \"{domain}\" {CatalogRules.Keywords}"),
        { Path: ["models", var index, .. var rest] } => EntryFault($"{source}: models[{index}]{IdOf(json, index)}", rest),
        _ => new CatalogException($"{source}: {CatalogRules.Models}"),
    };

    private static CatalogException EntryFault(string where, string[] path) => path switch
    {
        [] => new CatalogException($"{where}: must be an object (a catalog entry)"),
        [var field and ("domains" or "subdomains")] => Field(where, field, CatalogRules.Qualities),
        [var field and ("domains" or "subdomains"), var name, ..] => Field(where, $"{field}.{name}", CatalogRules.Quality),
        ["contents"] => Field(where, "contents", CatalogRules.Contents),
        ["contents", var file, ..] => Field(where, $"contents.{file}", CatalogRules.Sha256),
        ["rates"] => Field(where, "rates", CatalogRules.Rates),
        ["rates", var board] => new CatalogException($"{where} rates.{board}: {CatalogRules.Rate}"),
        ["rates", var board, var field, ..] => Field($"{where} rates.{board}", field, CatalogRules.ProblemOf(field)),
        ["sources"] => Field(where, "sources", CatalogRules.Sources),
        ["sources", var index] => new CatalogException($"{where} sources[{index}]: {CatalogRules.Source}"),
        ["sources", var index, "tokenizer"] => new CatalogException($"{where} sources[{index}] tokenizer: {CatalogRules.Source}"),
        ["sources", var index, "tokenizer", var field, ..] => Field($"{where} sources[{index}] tokenizer", field, CatalogRules.ProblemOf(field)),
        ["sources", var index, var field, ..] => Field($"{where} sources[{index}]", field, CatalogRules.ProblemOf(field)),
        [var field, ..] => Field(where, field, CatalogRules.ProblemOf(field)),
    };

    private static CatalogException Field(string where, string field, string problem) => new($"{where}: \"{field}\" {problem}");

    // The entry's id, when its own field is of the right kind, as in every other message about the entry.
    private static string IdOf(ReadOnlySpan<byte> json, string index)
    {
        try
        {
            var models = JsonSerializer.Deserialize(json, CatalogJson.Default.CatalogIds)?.Models;
            return models?.ElementAtOrDefault(int.Parse(index, CultureInfo.InvariantCulture))?.Id is { Length: > 0 } id ? $" \"{id}\"" : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}
