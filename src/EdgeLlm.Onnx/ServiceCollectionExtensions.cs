using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeLlm.Onnx;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The local engine and the model store: Models:Local and the store's models as the node's
    /// <see cref="IModelProvider"/>, pulled on demand (<see cref="IModelAcquisition"/>) and managed by command
    /// (<see cref="IModelCommands"/>).
    /// </summary>
    public static IServiceCollection AddEdgeOnnx(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LocalModelsOptions>().Bind(configuration.GetSection(ModelsOptions.Section)).ValidatedBy(LocalModelsOptionsValidator.Keyed);
        services.TryAddSingleton(TimeProvider.System);
        // Downloads stream for as long as they make progress (the store's stall timeout); a dead address fails fast.
        services.AddHttpClient(PullableModels.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(Store.ModelStore.CreateHttpHandler);
        services.TryAddSingleton<ConfiguredModel>();
        services.TryAddSingleton<ResidentModels>();
        services.TryAddSingleton<PullableModels>();
        services.TryAddSingleton<IModelAcquisition>(provider => provider.GetRequiredService<PullableModels>());
        services.AddNodeService<ModelManager>(NodeStage.Models);
        services.TryAddSingleton<IModelProvider>(provider => provider.GetRequiredService<ModelManager>());
        services.TryAddSingleton<IModelCommands, ModelCommandHandler>();
        services.AddNodeService<ModelHousekeeping>(NodeStage.Models);
        return services;
    }
}
