using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The node's identity, catalog, recommender, admission and request pipeline; an <see cref="IModelProvider"/>,
    /// an <see cref="Resources.IResourceSnapshotSource"/> and reply targets come from other projects.
    /// </summary>
    public static IServiceCollection AddEdgeCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<NodeOptions>().Bind(configuration.GetSection(NodeOptions.Section)).ValidatedBy(NodeOptionsValidator.Keyed);
        services.PostConfigure<NodeOptions>(options =>
        {
            if (options.Id.Length == 0)
            {
                options.Id = DefaultNodeId();
            }
        });
        services.AddOptions<AdmissionOptions>().Bind(configuration.GetSection(AdmissionOptions.Section)).ValidatedBy(AdmissionOptionsValidator.Keyed);
        services.AddOptions<ModelsOptions>().Bind(configuration.GetSection(ModelsOptions.Section)).ValidatedBy(ModelsOptionsValidator.Keyed);
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidatedBy(RoutingOptionsValidator.Keyed);
        services.AddOptions<UpstreamOptions>().Bind(configuration.GetSection(UpstreamOptions.Section)).ValidatedBy(UpstreamOptionsValidator.Keyed);
        services.AddOptions<StreamingOptions>().Bind(configuration.GetSection(StreamingOptions.Section)).ValidatedBy(StreamingOptionsValidator.Keyed);
        services.AddOptions<ConversationsOptions>().Bind(configuration.GetSection(ConversationsOptions.Section)).ValidatedBy(ConversationsOptionsValidator.Keyed);

        services.TryAddSingleton(ReadCatalog);
        services.TryAddSingleton<UpstreamDirectory>();
        services.TryAddSingleton<RequestRouter>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<NodeCounters>();
        // IMeterFactory is the host's (AddMetrics).
        services.TryAddSingleton<Telemetry.NodeMetrics>();
        services.AddNodeService<RequestPipeline>(NodeStage.Pipeline);
        services.TryAddSingleton<INodePipeline>(provider => provider.GetRequiredService<RequestPipeline>());
        return services;
    }

    // The catalog is read once, at start; a bad one stops the start (CatalogException names the entry and field).
    private static ModelCatalog ReadCatalog(IServiceProvider provider)
    {
        var models = provider.GetRequiredService<IOptions<ModelsOptions>>().Value;
        return models.CatalogPath.Length > 0 ? CatalogReader.Read(models.CatalogPath) : ModelCatalog.Empty;
    }

    // The host name, cut to what a topic level may hold (Node:Id's own rule).
    private static string DefaultNodeId()
    {
        string name = new(Environment.MachineName.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(64).ToArray());
        return name.Length > 0 ? name : "edgellm";
    }
}
