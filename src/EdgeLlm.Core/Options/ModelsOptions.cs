using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Models": the catalog, and the models this node answers with.</summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";

    /// <summary>A model folder (ONNX Runtime GenAI layout) to serve; empty means the node has no local model.</summary>
    public string Local { get; set; } = "";

    /// <summary>The catalog (models/catalog.json); empty means /etc/edgellm/catalog.json when present, else the one shipped beside the executable.</summary>
    public string CatalogPath { get; set; } = "";

    /// <summary>Memory (MiB) kept free for the system: a model fits in what is available minus this.</summary>
    public int MemoryReserveMb { get; set; } = 256;
}

public sealed class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options) =>
        new OptionsCheck(ModelsOptions.Section)
            .FileExists(nameof(ModelsOptions.CatalogPath), options.CatalogPath)
            .Range(nameof(ModelsOptions.MemoryReserveMb), options.MemoryReserveMb, 0, 1 << 20)
            .Result();
}
