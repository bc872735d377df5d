using EdgeLlm.Core.Catalog;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Inspection;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>A model folder as the node describes it to the recommender, and on what grounds.</summary>
/// <param name="Basis">Why it is described so, for the log: a catalog id, its own description, its contents, or none.</param>
internal sealed record FolderDescription(CatalogModel Model, string Basis);

/// <summary>
/// Says honestly what a model folder is: the catalog entry of its name; else what its own edgellm.json beside
/// genai_config.json says (domains, quality, rates); else, when asked to look, the catalog entry whose
/// "contents" (genai_config.json and weights) it holds byte for byte; else a general model of unknown size
/// and speed. A folder is never taken for something it does not claim or hold.
/// </summary>
internal static class FolderDescriber
{
    /// <param name="byContents">Compare its files with the catalog's "contents" (hashes the weights of a candidate; a folder given by hand).</param>
    public static FolderDescription Describe(string folder, ModelCatalog catalog, int tier, bool byContents)
    {
        string name = LocalModel.IdOf(folder);
        if (catalog.Find(name) is { Format: not ModelFormats.OpenAi } named)
        {
            return new FolderDescription(named, "its name is the catalog's");
        }

        string description = Path.Combine(folder, CatalogReader.DescriptionFile);
        if (File.Exists(description))
        {
            try
            {
                return new FolderDescription(CatalogReader.ReadDescription(description, name, tier), $"its {CatalogReader.DescriptionFile}");
            }
            catch (CatalogException e)
            {
                return new FolderDescription(CatalogModel.Uncatalogued(name, tier), $"its {CatalogReader.DescriptionFile} cannot be used ({e.Message}), so it counts as a general model");
            }
        }

        if (byContents && MatchingEntry(folder, catalog) is { } match)
        {
            return new FolderDescription(match, $"its {GenAiConfig.FileName} and weights are those of {match.Id}");
        }

        return new FolderDescription(CatalogModel.Uncatalogued(name, tier), "the catalog does not describe it, so it counts as a general model");
    }

    // The entry whose every listed file the folder holds with that sha256. genai_config.json is hashed first
    // and alone: only entries it matches cost a hash of the weights, each file hashed once.
    private static CatalogModel? MatchingEntry(string folder, ModelCatalog catalog)
    {
        string? config = ModelContents.TrySha256(Path.Combine(folder, GenAiConfig.FileName));
        var candidates = catalog.Models.Where(m => m.Format != ModelFormats.OpenAi && m.Contents.TryGetValue(GenAiConfig.FileName, out string? listed) && listed == config).ToList();
        var hashes = new Dictionary<string, string?>(StringComparer.Ordinal) { [GenAiConfig.FileName] = config };
        return candidates.FirstOrDefault(m => m.Contents.All(file =>
            (hashes.TryGetValue(file.Key, out string? hash) ? hash : hashes[file.Key] = ModelContents.TrySha256(Path.Combine(folder, file.Key))) == file.Value));
    }
}
