using System.Globalization;
using System.Net;
using EdgeLlm.Core.Security;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The broker a node runs itself when no fleet broker is configured (MQTTnet.Server), listening on
/// Mqtt:EmbeddedAddress (loopback by default, on IPv4 and IPv6 alike). Where MQTTnet.Server falls short of
/// MQTT 5 in ways the node relies on, it is mended here: message expiry (see <see cref="OnOutboundAsync"/>).
/// Its other known gaps (no shared subscriptions, a client's Maximum Packet Size and Receive Maximum not
/// honoured, a session expiry changed at DISCONNECT ignored) are in docs/mqtt-front-door.md.
/// </summary>
/// <param name="login">The node's own login, taken when the broker takes known users only.</param>
internal sealed partial class EmbeddedBroker(MqttOptions options, TimeProvider time, ILogger logger, EmbeddedBrokerLogin? login = null) : IAsyncDisposable
{
    /// <summary>The user properties in which the broker names the sender of every message: set by it alone.</summary>
    public const string SenderClientProperty = "edgellm-sender-client";
    public const string SenderUserProperty = "edgellm-sender-user";

    // When a message with an expiry interval reached the broker, as this process's timestamp: set by the
    // broker alone, on the way in, and taken off on the way out.
    private const string ReceivedProperty = "edgellm-broker-received";

    private MqttServer? _server;

    public async Task StartAsync()
    {
        var embedded = options.Embedded;
        var users = embedded.UsersFile.Length > 0 ? new BrokerUsers(PasswordFile.Read(embedded.UsersFile), login) : null;
        var address = IPAddress.Parse(options.EmbeddedAddress);
        var builder = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(options.EmbeddedPort)
            .WithPersistentSessions(true);
        if (embedded.CertificateFile.Length > 0)
        {
            // TLS on the configured address; the plain port stays on this host, for the node and local tools.
            builder.WithEncryptedEndpoint()
                .WithEncryptedEndpointPort(embedded.TlsPort)
                .WithEncryptionCertificate(Certificates.Load(embedded.CertificateFile, embedded.KeyFile))
                .WithEncryptedEndpointBoundIPAddress(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? address : IPAddress.None)
                .WithEncryptedEndpointBoundIPV6Address(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? address : IPAddress.IPv6None);
            address = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        }

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

            // After the id is assigned: a refused client without one is told why, not that its id is missing.
            if (users is not null && !users.Admits(e.UserName, e.Password, embedded.AllowAnonymous))
            {
                Log.LoginRefused(logger, e.ClientId ?? "", e.UserName ?? "");
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            }

            return Task.CompletedTask;
        };

        // Commands and requests say who sent them, as this broker knows the sender (commands are allowed by
        // it, requests hold queue places by it); whatever a client claims is dropped from every message.
        string[] stamped = [$"{options.TopicPrefix}/node/+/cmd", $"{options.TopicPrefix}/node/+/ask", $"{options.TopicPrefix}/tier/+/ask", options.EffectiveRequestTopic];
        _server.InterceptingPublishAsync += e =>
        {
            var message = e.ApplicationMessage;
            if (message.UserProperties?.RemoveAll(p => p.Name is ReceivedProperty or SenderClientProperty or SenderUserProperty) > 0 && message.UserProperties.Count == 0)
            {
                message.UserProperties = null;
            }

            if (stamped.Any(filter => TopicFilters.Matches(filter, message.Topic)))
            {
                message.UserProperties ??= [];
                message.UserProperties.Add(new MqttUserProperty(SenderClientProperty, System.Text.Encoding.UTF8.GetBytes(e.ClientId ?? "")));
                message.UserProperties.Add(new MqttUserProperty(SenderUserProperty, System.Text.Encoding.UTF8.GetBytes(e.UserName ?? "")));
            }

            if (message.MessageExpiryInterval > 0)
            {
                message.UserProperties ??= [];
                message.UserProperties.Add(new MqttUserProperty(ReceivedProperty, System.Text.Encoding.UTF8.GetBytes(time.GetTimestamp().ToString(CultureInfo.InvariantCulture))));
            }

            return Task.CompletedTask;
        };
        _server.InterceptingOutboundPacketAsync += OnOutboundAsync;

        try
        {
            await _server.StartAsync().ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"Mqtt:EmbeddedPort {options.EmbeddedPort} on {options.EmbeddedAddress} cannot be used ({e.Message}): is another broker running? Set Mqtt:Server to use it, or another port", e);
        }

        Log.BrokerStarted(logger, options.EmbeddedAddress, options.EmbeddedPort);
    }

    /// <summary>
    /// MQTT 5 §3.3.2.3.3: a message is sent with its expiry interval less the time it waited in the broker,
    /// and not at all once that has run out. MQTTnet.Server forwards the interval as published and delivers
    /// expired messages (to a session that reconnects, say), so that a node would take a stale request for a
    /// fresh one. Here each stamped message goes out as a copy with what is left of its interval (rounded up)
    /// and without the stamp, or not at all. (A dropped QoS 1/2 message stays in MQTTnet's session as unacknowledged, and
    /// is dropped again on each redelivery: it is never delivered.)
    /// </summary>
    private Task OnOutboundAsync(InterceptingPacketEventArgs e)
    {
        if (e.Packet is not MqttPublishPacket { MessageExpiryInterval: > 0 } publish
            || publish.UserProperties?.Find(p => p.Name == ReceivedProperty) is not { } stamp
            || !long.TryParse(System.Text.Encoding.UTF8.GetString(stamp.ValueBuffer.Span), NumberStyles.None, CultureInfo.InvariantCulture, out long received))
        {
            return Task.CompletedTask;
        }

        var left = TimeSpan.FromSeconds(publish.MessageExpiryInterval) - time.GetElapsedTime(received);
        if (left <= TimeSpan.Zero)
        {
            Log.MessageExpired(logger, publish.Topic, e.ClientId, publish.MessageExpiryInterval);
            e.ProcessPacket = false;
            return Task.CompletedTask;
        }

        // A copy: the packet is the one MQTTnet keeps for redelivery, and its properties are shared by every copy.
        var others = publish.UserProperties.Where(p => p.Name != ReceivedProperty).ToList();
        e.Packet = new MqttPublishPacket
        {
            PacketIdentifier = publish.PacketIdentifier,
            Topic = publish.Topic,
            Payload = publish.Payload,
            QualityOfServiceLevel = publish.QualityOfServiceLevel,
            Retain = publish.Retain,
            Dup = publish.Dup,
            ContentType = publish.ContentType,
            CorrelationData = publish.CorrelationData,
            MessageExpiryInterval = (uint)Math.Ceiling(left.TotalSeconds),
            PayloadFormatIndicator = publish.PayloadFormatIndicator,
            ResponseTopic = publish.ResponseTopic,
            TopicAlias = publish.TopicAlias,
            SubscriptionIdentifiers = publish.SubscriptionIdentifiers,
            UserProperties = others.Count > 0 ? others : null,
        };
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync(new MqttServerStopOptions()).ConfigureAwait(false);
            _server.Dispose();
        }
    }
}
