using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Commands;

/// <summary>The node's configuration as the commands that act like the node read it (DESIGN.md §9).</summary>
internal static class CommandConfiguration
{
    /// <summary>A section bound and checked as serve would check it; a bad value is a usage error naming its key.</summary>
    public static T Options<T>(IConfiguration configuration, string section, IValidateOptions<T> validator)
        where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var result = validator.Validate(null, options);
        return result.Failed ? throw new UsageException($"configuration: {result.FailureMessage}") : options;
    }

    /// <summary>The catalog in <paramref name="file"/>, else the node's (Models:CatalogPath, the fleet's, the shipped one); an unusable one is an IOException.</summary>
    public static ModelCatalog ReadCatalog(FileInfo? file, IConfiguration configuration)
    {
        string path = file?.FullName ?? NodeConfiguration.CatalogPath(configuration[$"{ModelsOptions.Section}:{nameof(ModelsOptions.CatalogPath)}"] ?? "", NodeConfiguration.Directory);
        try
        {
            return path.Length > 0 ? CatalogReader.Read(path) : ModelCatalog.Empty;
        }
        catch (CatalogException e)
        {
            throw new IOException(e.Message, e);
        }
    }
}
