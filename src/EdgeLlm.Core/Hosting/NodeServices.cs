using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Hosting;

/// <summary>
/// When a node's long-running services start: stage by stage in this order, and stop in the reverse one.
/// The board's state is read before anything is advertised; models are on their way before anyone can ask
/// for them; the MQTT side (broker, connection, subscriptions) is up before the pipeline, and so goes down
/// after it has sent its last replies; the board's buttons and lights come last, so that a press finds the
/// node ready and none comes in while it closes.
/// </summary>
public enum NodeStage
{
    Resources,
    Models,
    Transport,
    Pipeline,
    Board,
    Supervision,
}

public static class NodeServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TService"/> (a singleton) to be started at <paramref name="stage"/>, after
    /// the services of earlier stages, and stopped before them; within a stage, in registration order.
    /// </summary>
    public static IServiceCollection AddNodeService<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TService>(this IServiceCollection services, NodeStage stage)
        where TService : class, IHostedService
    {
        services.TryAddSingleton<TService>();
        services.AddSingleton(new NodeServiceRegistration(stage, typeof(TService)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NodeServices>());
        return services;
    }
}

internal sealed record NodeServiceRegistration(NodeStage Stage, Type Service);

/// <summary>
/// The host's one hosted service for the node: starts every registered node service in <see cref="NodeStage"/>
/// order and stops them in the reverse one. A background service that fails stops the node, as the host
/// does for its own.
/// </summary>
internal sealed class NodeServices(IServiceProvider provider, IEnumerable<NodeServiceRegistration> registrations, ILogger<NodeServices> logger, IHostApplicationLifetime? lifetime = null) : IHostedService
{
    private readonly List<IHostedService> _started = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // OrderBy is stable: within a stage, registration order stands.
        foreach (var registration in registrations.OrderBy(r => r.Stage))
        {
            var service = (IHostedService)provider.GetRequiredService(registration.Service);
            await service.StartAsync(cancellationToken).ConfigureAwait(false);
            _started.Add(service);
            if (service is BackgroundService { ExecuteTask: Task running })
            {
                _ = StopWhenFaultedAsync(registration.Service, running);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        for (int i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StopWhenFaultedAsync(Type service, Task running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ServiceFailed(logger, e, service.Name);
            lifetime?.StopApplication();
        }
    }
}
