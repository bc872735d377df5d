using Microsoft.Extensions.Configuration;

namespace EdgeLlm.Worker.Hosting;

/// <summary>Where a node's configuration comes from (docs/design.md §9), for `serve` and for the commands that decide as the node would.</summary>
internal static class NodeConfiguration
{
    public const string DefaultConfigDirectory = "/etc/edgellm";
    public const string ConfigDirectoryVariable = "EDGELLM_CONFIG_DIR";
    public const string EnvironmentPrefix = "EDGELLM__";
    public const string CatalogFile = "catalog.json";

    /// <summary>The fleet's configuration folder: EDGELLM_CONFIG_DIR, else /etc/edgellm.</summary>
    public static string Directory => Environment.GetEnvironmentVariable(ConfigDirectoryVariable) is { Length: > 0 } directory ? directory : DefaultConfigDirectory;

    /// <summary>appsettings.json beside the executable, then the folder's *.json in name order (but the catalog), then EDGELLM__ variables, then the command line.</summary>
    public static void AddSources(IConfigurationBuilder configuration, IReadOnlyList<string> args, string configDirectory)
    {
        configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        if (System.IO.Directory.Exists(configDirectory))
        {
            foreach (string file in System.IO.Directory.GetFiles(configDirectory, "*.json").Where(f => Path.GetFileName(f) != CatalogFile).Order(StringComparer.Ordinal))
            {
                configuration.AddJsonFile(file, optional: false, reloadOnChange: false);
            }
        }

        configuration.AddEnvironmentVariables(EnvironmentPrefix);
        configuration.AddCommandLine([.. args]);
    }

    public static IConfiguration Build(IReadOnlyList<string> args, string configDirectory)
    {
        var configuration = new ConfigurationManager();
        AddSources(configuration, args, configDirectory);
        return configuration;
    }

    /// <summary>Models:CatalogPath, else the fleet's catalog.json in the configuration folder, else the one shipped beside the executable.</summary>
    public static string CatalogPath(string configured, string configDirectory)
    {
        if (configured.Length > 0)
        {
            return configured;
        }

        string fleet = Path.Combine(configDirectory, CatalogFile);
        string shipped = Path.Combine(AppContext.BaseDirectory, CatalogFile);
        return File.Exists(fleet) ? fleet : File.Exists(shipped) ? shipped : "";
    }
}
