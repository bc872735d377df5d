using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Mqtt.Connection;
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
}
