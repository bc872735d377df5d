using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeLlm.Onnx;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The local engine and the model store: Models:Local and the store's models (options bound by AddEdgeCore)
    /// as the node's <see cref="IModelProvider"/>, pulled on demand (<see cref="IModelAcquisition"/>) and
    /// managed by command (<see cref="IModelCommands"/>).
    /// </summary>
    public static IServiceCollection AddEdgeOnnx(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelManager>();
        services.TryAddSingleton<IModelProvider>(provider => provider.GetRequiredService<ModelManager>());
        services.TryAddSingleton<IModelAcquisition>(provider => provider.GetRequiredService<ModelManager>());
        services.TryAddSingleton<IModelCommands>(provider => provider.GetRequiredService<ModelManager>());
        services.AddHostedService(provider => provider.GetRequiredService<ModelManager>());
        return services;
    }
}
