using EdgeLlm.Core.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// The MQTT front door, escalation over MQTT, the status advertisements (sent and heard) and model commands. Register it
    /// before the request pipeline: hosted
    /// services stop in reverse order, and the front door must outlive the pipeline's last replies.
    /// </summary>
    public static IServiceCollection AddEdgeMqtt(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MqttOptions>().Bind(configuration.GetSection(MqttOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MqttConnection>();
        services.TryAddSingleton<INodeTopics, MqttNodeTopics>();
        services.TryAddSingleton<MqttFrontDoor>();
        services.AddHostedService(provider => provider.GetRequiredService<MqttFrontDoor>());
        services.TryAddSingleton<MqttEscalator>();
        services.TryAddSingleton<IEscalator>(provider => provider.GetRequiredService<MqttEscalator>());
        services.AddHostedService(provider => provider.GetRequiredService<MqttEscalator>());
        services.AddHostedService<AdvertisementListener>();
        services.AddHostedService<StatusPublisher>();
        services.AddHostedService<CommandListener>();
        return services;
    }
}
