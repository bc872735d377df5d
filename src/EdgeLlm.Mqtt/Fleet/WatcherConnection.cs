using EdgeLlm.Mqtt.Connection;
using Microsoft.Extensions.Hosting;

namespace EdgeLlm.Mqtt.Fleet;

/// <summary>Opens and closes the connection of a process that only watches the fleet (no front door does it there).</summary>
internal sealed class WatcherConnection(MqttConnection connection) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        connection.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => connection.CloseAsync(cancellationToken);
}
