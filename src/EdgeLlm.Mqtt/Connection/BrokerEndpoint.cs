using System.Globalization;
using System.Net;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>Where the node's client connects: Mqtt:Server, or the embedded broker on this host.</summary>
internal static class BrokerEndpoint
{
    public static (string Host, int Port) Of(MqttOptions options)
    {
        if (options.Server.Length == 0)
        {
            // A broker listening on every address is reached on loopback.
            var address = IPAddress.Parse(options.EmbeddedAddress);
            string host = address.Equals(IPAddress.Any) ? "127.0.0.1" : address.Equals(IPAddress.IPv6Any) ? "::1" : address.ToString();
            return (host, options.EmbeddedPort);
        }

        return Parse(options.Server);
    }

    /// <summary>host:port, [v6address]:port.</summary>
    public static (string Host, int Port) Parse(string server)
    {
        int colon = server.LastIndexOf(':');
        string host = server[..colon].Trim('[', ']');
        return (host, int.Parse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture));
    }
}
