using System.Security.Cryptography.X509Certificates;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// How the node connects (docs/design.md §3): MQTT 5, a persistent session under a client id of its own, the
/// will that marks its status offline, and the credentials and TLS that Mqtt: configures.
/// </summary>
internal static class NodeClientOptions
{
    public static string ClientId(NodeOptions node) => $"edgellm-{node.Id}";

    public static MqttClientOptions Build(MqttOptions options, NodeOptions node)
    {
        var (host, port) = BrokerEndpoint.Of(options);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(ClientId(node))
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)options.SessionExpirySeconds)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(options.StatusTopic(node.Id))
            .WithWillPayload(NodeStatusFormatter.Offline(node))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        if (options.Username.Length > 0)
        {
            string password = options.PasswordFile.Length > 0 ? File.ReadLines(options.PasswordFile).FirstOrDefault() ?? "" : "";
            builder.WithCredentials(options.Username, password);
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
            string extension = Path.GetExtension(options.ClientCertFile).ToLowerInvariant();
            var certificate = extension is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(options.ClientCertFile, password: null)
                : X509Certificate2.CreateFromPemFile(options.ClientCertFile);
            tls.WithClientCertificates([certificate]);
        }

        return tls.Build();
    }
}
