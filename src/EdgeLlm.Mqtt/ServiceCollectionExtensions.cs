using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Fleet;
using EdgeLlm.Mqtt.Incoming;
using EdgeLlm.Mqtt.Outgoing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The MQTT side of the node (<see cref="NodeStage.Transport"/>, up before the request pipeline and down
    /// after it): the front door, escalation over MQTT, the status advertisements (sent and heard), model
    /// commands and cancels.
    /// </summary>
    public static IServiceCollection AddEdgeMqtt(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MqttOptions>().Bind(configuration.GetSection(MqttOptions.Section)).ValidatedBy(MqttOptionsValidator.Keyed);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => MqttPresence.Node(provider.GetRequiredService<IOptions<MqttOptions>>().Value, provider.GetRequiredService<IOptions<NodeOptions>>().Value));
        services.TryAddSingleton(EmbeddedBrokerLogin.Create());
        services.TryAddSingleton<MqttConnection>();
        services.TryAddSingleton<INodeTopics, MqttNodeTopics>();
        services.AddNodeService<MqttFrontDoor>(NodeStage.Transport);
        services.AddNodeService<MqttEscalator>(NodeStage.Transport);
        services.TryAddSingleton<IEscalator>(provider => provider.GetRequiredService<MqttEscalator>());
        services.AddNodeService<AdvertisementListener>(NodeStage.Transport);
        services.AddNodeService<StatusPublisher>(NodeStage.Transport);
        services.AddNodeService<CommandListener>(NodeStage.Transport);
        services.AddNodeService<CancelListener>(NodeStage.Transport);
        return services;
    }

    /// <summary>
    /// What the fleet page reads and sends through this node's connection: every node's status
    /// (<see cref="FleetState"/>) and the model commands (<see cref="FleetCommands"/>).
    /// </summary>
    public static IServiceCollection AddFleetWatch(this IServiceCollection services)
    {
        services.TryAddSingleton<FleetState>();
        services.TryAddSingleton(provider => new FleetCommands(provider.GetRequiredService<IOptions<MqttOptions>>(), provider.GetRequiredService<MqttConnection>()));
        services.AddNodeService<FleetWatcher>(NodeStage.Transport);
        return services;
    }

    /// <summary>
    /// A process that only watches the fleet (`edgellm dashboard`): its own connection to the broker Mqtt:
    /// names, as <paramref name="clientId"/>, with a clean session and no status of its own.
    /// </summary>
    public static IServiceCollection AddFleetWatcher(this IServiceCollection services, IConfiguration configuration, string clientId)
    {
        services.AddOptions<MqttOptions>().Bind(configuration.GetSection(MqttOptions.Section)).ValidatedBy(MqttOptionsValidator.Keyed);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(MqttPresence.Watcher(clientId));
        services.TryAddSingleton<MqttConnection>();
        services.AddNodeService<WatcherConnection>(NodeStage.Transport);
        return services.AddFleetWatch();
    }
}
