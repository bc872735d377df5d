using System.Net;
using Microsoft.Extensions.Logging;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace EdgeLlm.Mqtt;

/// <summary>
/// The broker a node runs itself when no fleet broker is configured (MQTTnet.Server), listening on
/// Mqtt:EmbeddedAddress (loopback by default, on IPv4 and IPv6 alike).
/// </summary>
internal sealed partial class EmbeddedBroker(MqttOptions options, ILogger logger) : IAsyncDisposable
{
    /// <summary>The user properties in which the broker names the sender of a command: set by it alone.</summary>
    public const string SenderClientProperty = "edgellm-sender-client";
    public const string SenderUserProperty = "edgellm-sender-user";

    private MqttServer? _server;

    public async Task StartAsync()
    {
        var address = IPAddress.Parse(options.EmbeddedAddress);
        var builder = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(options.EmbeddedPort)
            .WithPersistentSessions(true);
        // MQTTnet listens on both families; keep the other family as open as the configured address.
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            builder.WithDefaultEndpointBoundIPV6Address(address)
                .WithDefaultEndpointBoundIPAddress(IPAddress.IPv6Loopback.Equals(address) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.Any : IPAddress.None);
        }
        else
        {
            builder.WithDefaultEndpointBoundIPAddress(address)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.IsLoopback(address) ? IPAddress.IPv6Loopback : address.Equals(IPAddress.Any) ? IPAddress.IPv6Any : IPAddress.IPv6None);
        }

        _server = new MqttServerFactory().CreateMqttServer(builder.Build());
        // MQTT 5 lets a client leave its id to the server. (MQTTnet refuses an MQTT 3.1.1 client without an
        // id before this handler can help: such clients must send one, e.g. mosquitto_sub -i.)
        _server.ValidatingConnectionAsync += e =>
        {
            if (string.IsNullOrEmpty(e.ClientId))
            {
                e.AssignedClientIdentifier = $"edgellm-auto-{Guid.NewGuid():N}";
            }

            return Task.CompletedTask;
        };

        // Commands say who sent them, as this broker knows the sender; whatever a client claims is dropped.
        string commands = $"{options.TopicPrefix}/node/+/cmd";
        _server.InterceptingPublishAsync += e =>
        {
            if (TopicFilters.Matches(commands, e.ApplicationMessage.Topic))
            {
                var properties = e.ApplicationMessage.UserProperties ?? [];
                properties.RemoveAll(p => p.Name is SenderClientProperty or SenderUserProperty);
                properties.Add(new MqttUserProperty(SenderClientProperty, System.Text.Encoding.UTF8.GetBytes(e.ClientId ?? "")));
                properties.Add(new MqttUserProperty(SenderUserProperty, System.Text.Encoding.UTF8.GetBytes(e.UserName ?? "")));
                e.ApplicationMessage.UserProperties = properties;
            }

            return Task.CompletedTask;
        };

        try
        {
            await _server.StartAsync().ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"Mqtt:EmbeddedPort {options.EmbeddedPort} on {options.EmbeddedAddress} cannot be used ({e.Message}): is another broker running? Set Mqtt:Server to use it, or another port", e);
        }

        Log.Started(logger, options.EmbeddedAddress, options.EmbeddedPort);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync(new MqttServerStopOptions()).ConfigureAwait(false);
            _server.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Information, "Embedded MQTT broker listening on {Address} port {Port}")]
        public static partial void Started(ILogger logger, string address, int port);
    }
}
