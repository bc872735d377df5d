using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Onnx;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Commands;

/// <summary>The node's configuration as the commands that act like the node read it (docs/design.md §9).</summary>
internal static class CommandConfiguration
{
    // One accessor per section rather than one generic Get<T>: the configuration binding source generator
    // (which trimmed and AOT builds need) can only generate binding code for calls whose type it can see.
    public static NodeOptions Node(IConfiguration configuration) =>
        Checked(configuration.GetSection(NodeOptions.Section).Get<NodeOptions>(), NodeOptionsValidator.Keyed);

    public static AdmissionOptions Admission(IConfiguration configuration) =>
        Checked(configuration.GetSection(AdmissionOptions.Section).Get<AdmissionOptions>(), AdmissionOptionsValidator.Keyed);

    public static ModelsOptions Models(IConfiguration configuration) =>
        Checked(configuration.GetSection(ModelsOptions.Section).Get<ModelsOptions>(), ModelsOptionsValidator.Keyed);

    /// <summary>The Models section as the local engine and its store read it.</summary>
    public static LocalModelsOptions LocalModels(IConfiguration configuration) =>
        Checked(configuration.GetSection(ModelsOptions.Section).Get<LocalModelsOptions>(), LocalModelsOptionsValidator.Keyed);

    public static RoutingOptions Routing(IConfiguration configuration) =>
        Checked(configuration.GetSection(RoutingOptions.Section).Get<RoutingOptions>(), RoutingOptionsValidator.Keyed);

    public static UpstreamOptions Upstream(IConfiguration configuration) =>
        Checked(configuration.GetSection(UpstreamOptions.Section).Get<UpstreamOptions>(), UpstreamOptionsValidator.Keyed);

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

    /// <summary>A section as bound (its defaults when absent), checked as serve would check it; a bad value is a usage error naming its key.</summary>
    private static T Checked<T>(T? bound, IValidateOptions<T> validator)
        where T : class, new()
    {
        var options = bound ?? new T();
        var result = validator.Validate(null, options);
        return result.Failed ? throw new UsageException($"configuration: {result.FailureMessage}") : options;
    }
}
