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
        services.AddOptions<NodeOptions>().Bind(configuration.GetSection(NodeOptions.Section)).ValidateOnStart();
        services.PostConfigure<NodeOptions>(options =>
        {
            if (options.Id.Length == 0)
            {
                options.Id = DefaultNodeId();
            }
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>());
        services.AddOptions<AdmissionOptions>().Bind(configuration.GetSection(AdmissionOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdmissionOptions>, AdmissionOptionsValidator>());
        services.AddOptions<ModelsOptions>().Bind(configuration.GetSection(ModelsOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelsOptions>, ModelsOptionsValidator>());
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>());

        services.AddOptions<UpstreamOptions>().Bind(configuration.GetSection(UpstreamOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UpstreamOptions>, UpstreamOptionsValidator>());

        services.TryAddSingleton(ReadCatalog);
        services.TryAddSingleton<UpstreamDirectory>();
        services.TryAddSingleton<RequestRouter>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<NodeCounters>();
        services.AddNodeService<RequestPipeline>(NodeStage.Pipeline);
        services.TryAddSingleton<INodePipeline>(provider => provider.GetRequiredService<RequestPipeline>());
        return services;
    }

    // The catalog is read once, at start; a bad one stops the start (CatalogException names the entry and field).
    // A node serving an OpenAI-compatible endpoint describes it from its options unless the catalog does.
    private static ModelCatalog ReadCatalog(IServiceProvider provider)
    {
        var models = provider.GetRequiredService<IOptions<ModelsOptions>>().Value;
        var catalog = models.CatalogPath.Length > 0 ? CatalogReader.Read(models.CatalogPath) : ModelCatalog.Empty;
        return models.OpenAi.Endpoint.Length > 0
            ? catalog.Including(CatalogModel.ForEndpoint(models.OpenAi, provider.GetRequiredService<IOptions<NodeOptions>>().Value.Tier))
            : catalog;
    }

    // The host name, cut to what a topic level may hold (Node:Id's own rule).
    private static string DefaultNodeId()
    {
        string name = new(Environment.MachineName.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(64).ToArray());
        return name.Length > 0 ? name : "edgellm";
    }
}
