using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx;

/// <summary>
/// Configuration section "Models", as the local engine reads it: the folder given by hand, the store of
/// pulled models, its disk budget, the hub it pulls from, and which models stay.
/// </summary>
public sealed class LocalModelsOptions
{
    /// <summary>A model folder (ONNX Runtime GenAI layout) to serve; empty means none given by hand.</summary>
    public string Local { get; set; } = "";

    /// <summary>Where pulled models live, one folder each (docs/design.md §6); see <see cref="DefaultStorePath()"/>.</summary>
    [AbsolutePath]
    public string StorePath { get; set; } = DefaultStorePath();

    /// <summary>Disk (MiB) the store may fill; least recently used, unpinned models make room. 0: no budget but the disk itself.</summary>
    [Between(0, int.MaxValue)]
    public int DiskBudgetMb { get; set; }

    /// <summary>A loaded model unused this long is unloaded (pinned ones stay); 0 keeps models loaded.</summary>
    [Between(0, 10_080)]
    public int IdleUnloadMinutes { get; set; } = 30;

    /// <summary>The Hugging Face hub hf sources are fetched from; empty: HF_ENDPOINT, else https://huggingface.co.</summary>
    [HttpAddress]
    public string HfEndpoint { get; set; } = "";

    /// <summary>A file holding the hub token for gated repositories, when HF_TOKEN is not set; empty: HF_TOKEN_PATH, else $HF_HOME/token.</summary>
    [ExistingFile]
    public string HfTokenFile { get; set; } = "";

    /// <summary>Catalog models pulled and loaded at start and never evicted nor unloaded.</summary>
    [NotBlank("list model ids, not empty strings")]
    public string[] Pinned { get; set; } = [];

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

[OptionsValidator]
public sealed partial class LocalModelsOptionsValidator : IValidateOptions<LocalModelsOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<LocalModelsOptions> Keyed { get; } = new KeyedValidator<LocalModelsOptions>(ModelsOptions.Section, new LocalModelsOptionsValidator());
}
