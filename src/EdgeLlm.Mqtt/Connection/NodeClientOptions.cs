using System.Security.Cryptography.X509Certificates;
using EdgeLlm.Core.Security;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// How the node (or a watcher of the fleet) connects (docs/design.md §3): MQTT 5 under its client id; for a
/// node, a persistent session and the will that marks its status offline; the credentials and TLS that
/// Mqtt: configures.
/// </summary>
internal static class NodeClientOptions
{
    /// <param name="login">The node's own login to its embedded broker, used when that takes known users only.</param>
    public static MqttClientOptions Build(MqttOptions options, MqttPresence presence, EmbeddedBrokerLogin? login = null)
    {
        var (host, port) = BrokerEndpoint.Of(options);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(presence.ClientId)
            .WithCleanStart(!presence.PersistentSession)
            .WithSessionExpiryInterval(presence.PersistentSession ? (uint)options.SessionExpirySeconds : 0)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (presence.OfflineStatus is { } offline)
        {
            builder.WithWillTopic(offline.Topic)
                .WithWillPayload(System.Buffers.BuffersExtensions.ToArray(offline.Payload))
                .WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithWillContentType(offline.ContentType);
        }

        if (options.Username.Length > 0)
        {
            string password = options.PasswordFile.Length > 0 ? File.ReadLines(options.PasswordFile).FirstOrDefault() ?? "" : "";
            builder.WithCredentials(options.Username, password);
        }
        else if (options.Server.Length == 0 && options.Embedded.UsersFile.Length > 0 && login is not null)
        {
            builder.WithCredentials(login.User, login.Password);
        }

        if (options.UseTls)
        {
            builder.WithTlsOptions(Tls(options, host));
        }

        return builder.Build();
    }

    private static MqttClientTlsOptions Tls(MqttOptions options, string host)
    {
        var tls = new MqttClientTlsOptionsBuilder().UseTls(true).WithTargetHost(host);
        if (options.CaFile.Length > 0)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(options.CaFile);
            tls.WithTrustChain(authorities);
        }

        if (options.ClientCertFile.Length > 0)
        {
            tls.WithClientCertificates([Certificates.Load(options.ClientCertFile)]);
        }

        return tls.Build();
    }
}
