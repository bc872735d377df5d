using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EdgeLlm.Onnx;

public static class ServiceCollectionExtensions
{
    /// <summary>The local engine: the model of Models:Local (bound by AddEdgeCore), loaded at start, as the node's <see cref="IModelProvider"/>.</summary>
    public static IServiceCollection AddEdgeOnnx(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ConfiguredModelProvider>();
        services.TryAddSingleton<IModelProvider>(provider => provider.GetRequiredService<ConfiguredModelProvider>());
        services.AddHostedService(provider => provider.GetRequiredService<ConfiguredModelProvider>());
        return services;
    }
}
