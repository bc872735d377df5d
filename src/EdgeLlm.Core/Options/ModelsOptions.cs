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

    /// <summary>Where pulled models live, one folder each (docs/design.md §6); see <see cref="DefaultStorePath"/>.</summary>
    public string StorePath { get; set; } = DefaultStorePath();

    /// <summary>Disk (MiB) the store may fill; least recently used, unpinned models make room. 0: no budget but the disk itself.</summary>
    public int DiskBudgetMb { get; set; }

    /// <summary>A loaded model unused this long is unloaded (pinned ones stay); 0 keeps models loaded.</summary>
    public int IdleUnloadMinutes { get; set; } = 30;

    /// <summary>Catalog models pulled and loaded at start and never evicted nor unloaded.</summary>
    public string[] Pinned { get; set; } = [];

    /// <summary>When a request needs a catalog model not on the board: see <see cref="OnDemandPolicies"/>.</summary>
    public string OnDemand { get; set; } = OnDemandPolicies.Auto;

    /// <summary>An OpenAI-compatible endpoint as this node's model, instead of a local folder.</summary>
    public OpenAiOptions OpenAi { get; set; } = new();

    /// <summary>
    /// The store a node uses unless told: under systemd the service's state directory (STATE_DIRECTORY, which
    /// the unit's StateDirectory=edgellm makes /var/lib/edgellm), else the user's data directory
    /// ($XDG_DATA_HOME, or ~/.local/share), so that a node started by hand needs neither root nor a setting.
    /// </summary>
    public static string DefaultStorePath() => DefaultStorePath(Environment.GetEnvironmentVariable);

    /// <param name="variable">Reads an environment variable (HOME, XDG_DATA_HOME, STATE_DIRECTORY).</param>
    public static string DefaultStorePath(Func<string, string?> variable)
    {
        // systemd lists one path per StateDirectory= entry, separated by colons.
        if (variable("STATE_DIRECTORY")?.Split(':')[0] is { Length: > 0 } state && Path.IsPathFullyQualified(state))
        {
            return Path.Combine(state, "models");
        }

        if (variable("XDG_DATA_HOME") is { Length: > 0 } data && Path.IsPathFullyQualified(data))
        {
            return Path.Combine(data, "edgellm", "models");
        }

        return variable("HOME") is { Length: > 0 } home && Path.IsPathFullyQualified(home)
            ? Path.Combine(home, ".local", "share", "edgellm", "models")
            : "/var/lib/edgellm/models";
    }
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

/// <summary>Models:OpenAi: a node whose model is an OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API).</summary>
public sealed class OpenAiOptions
{
    /// <summary>The server's base address, e.g. http://gateway:8080/v1; empty means none.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>The model name the server knows; also the id answers name it by.</summary>
    public string Model { get; set; } = "";

    /// <summary>A file holding the API key (its first line); else EDGELLM_OPENAI_API_KEY or OPENAI_API_KEY.</summary>
    public string ApiKeyFile { get; set; } = "";

    /// <summary>Run by someone outside the fleet: `privacy: fleet` and `privacy: local` requests never go there.</summary>
    public bool ThirdParty { get; set; }

    /// <summary>The quality (0 to 1) it answers with, in every domain it covers.</summary>
    public double Quality { get; set; } = 0.8;

    /// <summary>The domains it covers; empty means every domain.</summary>
    public string[] Domains { get; set; } = [];

    public int TimeoutMs { get; set; } = 60_000;
}

public sealed class ModelsOptionsValidator : IValidateOptions<ModelsOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelsOptions options) =>
        new OptionsCheck(ModelsOptions.Section)
            .FileExists(nameof(ModelsOptions.CatalogPath), options.CatalogPath)
            .Range(nameof(ModelsOptions.MemoryReserveMb), options.MemoryReserveMb, 0, 1 << 20)
            .Range(nameof(ModelsOptions.DiskBudgetMb), options.DiskBudgetMb, 0, int.MaxValue)
            .Range(nameof(ModelsOptions.IdleUnloadMinutes), options.IdleUnloadMinutes, 0, 10_080)
            .That(options.StorePath.Length > 0 && Path.IsPathFullyQualified(options.StorePath), $"Models:StorePath must be an absolute path, not '{options.StorePath}'")
            .That(OnDemandPolicies.All.Contains(options.OnDemand), $"Models:OnDemand must be one of {string.Join(", ", OnDemandPolicies.All)}, not '{options.OnDemand}'")
            .That(options.Pinned.All(id => id.Trim().Length > 0), "Models:Pinned must list model ids, not empty strings")
            .That(options.OpenAi.Endpoint.Length == 0 || Uri.TryCreate(options.OpenAi.Endpoint, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https",
                $"Models:OpenAi:Endpoint must be an http(s) address, not '{options.OpenAi.Endpoint}'")
            .That(options.OpenAi.Endpoint.Length == 0 || options.OpenAi.Model.Length > 0, "Models:OpenAi:Endpoint needs Models:OpenAi:Model")
            .That(options.OpenAi.Endpoint.Length == 0 || options.Local.Length == 0, "Models:Local and Models:OpenAi:Endpoint exclude each other: a node serves one model")
            .That(options.OpenAi.Quality is >= 0 and <= 1, $"Models:OpenAi:Quality must be from 0 to 1, not {options.OpenAi.Quality}")
            .Range("OpenAi:TimeoutMs", options.OpenAi.TimeoutMs, 1, 3_600_000)
            .FileExists("OpenAi:ApiKeyFile", options.OpenAi.ApiKeyFile)
            .Result();
}
