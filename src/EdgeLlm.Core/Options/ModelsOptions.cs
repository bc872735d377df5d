using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>
/// Configuration section "Models", as routing reads it: the catalog, the memory kept for the system, and
/// whether requests may wait for a model to be pulled. (The engine's own keys of the section, the store
/// among them, belong to the engine that serves them.)
/// </summary>
public sealed class ModelsOptions
{
    public const string Section = "Models";

    /// <summary>The catalog (models/catalog.json); empty means /etc/edgellm/catalog.json when present, else the one shipped beside the executable.</summary>
    [ExistingFile]
    public string CatalogPath { get; set; } = "";

    /// <summary>Memory (MiB) kept free for the system: a model fits in what is available minus this.</summary>
    [Between(0, 1 << 20)]
    public int MemoryReserveMb { get; set; } = 256;

    /// <summary>When a request needs a catalog model not on the board: see <see cref="OnDemandPolicies"/>.</summary>
    [OneOf(OnDemandPolicies.Auto, OnDemandPolicies.Background, OnDemandPolicies.Off)]
    public string OnDemand { get; set; } = OnDemandPolicies.Auto;
}

/// <summary>What a node does when the model a request needs is in the catalog but not on the board.</summary>
public static class OnDemandPolicies
{
    /// <summary>Wait for the pull when the deadline allows it; else escalate now and pull in the background.</summary>
    public const string Auto = "auto";

    /// <summary>Never make a request wait for a pull while an upstream can take it; pull in the background.</summary>
    public const string Background = "background";

    /// <summary>No pulls on demand: only `edgellm model pull`, the pull command and Models:Pinned obtain models.</summary>
    public const string Off = "off";

    public static IReadOnlyList<string> All { get; } = [Auto, Background, Off];
}

[OptionsValidator]
public sealed partial class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<ModelsOptions> Keyed { get; } = new KeyedValidator<ModelsOptions>(ModelsOptions.Section, new ModelsOptionsValidator());
}
