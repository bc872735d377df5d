using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// Models:Local, the folder given to the node by hand: described once, on first use, as
/// <see cref="FolderDescriber"/> finds it (its catalog id, its own edgellm.json, or its files), and known by
/// that description's id from then on. A folder that will not load is given up until the node restarts.
/// </summary>
internal sealed class ConfiguredModel(IOptions<LocalModelsOptions> options, IOptions<NodeOptions> node, ModelCatalog catalog)
{
    private readonly Lazy<FolderDescription?> _description = new(() =>
        options.Value.Local.Length > 0 ? FolderDescriber.Describe(options.Value.Local, catalog, node.Value.Tier, byContents: true) : null);

    private volatile bool _failed;

    public string Folder => options.Value.Local;

    /// <summary>How the folder is known; null when none is configured.</summary>
    public FolderDescription? Description => _description.Value;

    public string? Id => Description?.Model.Id;

    /// <summary>The model to answer with: configured, and not given up.</summary>
    public CatalogModel? Usable => _failed ? null : Description?.Model;

    public void GiveUp() => _failed = true;
}
