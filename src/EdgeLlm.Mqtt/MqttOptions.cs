using System.Text.RegularExpressions;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt;

/// <summary>Configuration section "Mqtt": the broker the node talks through, and its topics (docs/design.md §3).</summary>
internal sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>The fleet's broker as host:port; empty runs the embedded broker and uses it.</summary>
    public string Server { get; set; } = "";

    /// <summary>The embedded broker's port.</summary>
    public int EmbeddedPort { get; set; } = 1883;

    /// <summary>The address the embedded broker listens on; loopback unless the node should take requests from other hosts.</summary>
    public string EmbeddedAddress { get; set; } = "127.0.0.1";

    public string Username { get; set; } = "";

    /// <summary>A file holding the password (its first line), so that the password stays out of configuration.</summary>
    public string PasswordFile { get; set; } = "";

    public bool UseTls { get; set; }

    /// <summary>PEM file of the certificate authorities that sign the broker's certificate (else the system's).</summary>
    public string CaFile { get; set; } = "";

    /// <summary>The node's own certificate for brokers that ask for one: PEM with its key, or PKCS#12.</summary>
    public string ClientCertFile { get; set; } = "";

    /// <summary>The first topic level of everything the node publishes and, by default, listens to.</summary>
    public string TopicPrefix { get; set; } = "edgellm";

    /// <summary>The filter requests arrive on; empty means "{TopicPrefix}/ask/#". A "$share/group/" filter spreads requests over nodes.</summary>
    public string RequestTopic { get; set; } = "";

    /// <summary>How long the broker keeps the node's session (and the QoS 1 requests for it) while the node is away.</summary>
    public int SessionExpirySeconds { get; set; } = 3600;

    /// <summary>How often the retained status is refreshed (it is also sent at start and after every reconnection).</summary>
    public int StatusIntervalSeconds { get; set; } = 5;

    public string EffectiveRequestTopic => RequestTopic.Length > 0 ? RequestTopic : $"{TopicPrefix}/ask/#";

    public string StatusTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/status";

    /// <summary>Every node's status advertisement.</summary>
    public string StatusFilter => $"{TopicPrefix}/node/+/status";

    /// <summary>The per-node topics (status, upstream answers): never requests, whatever the request filter says.</summary>
    public string NodeTopicsFilter => $"{TopicPrefix}/node/#";

    /// <summary>Where a node sends what it escalates to tier <paramref name="tier"/>.</summary>
    public string TierAskTopic(int tier) => $"{TopicPrefix}/tier/{tier}/ask";

    /// <summary>The shared subscription through which the broker spreads a tier's escalated requests over its nodes.</summary>
    public string TierSubscription(int tier) => $"$share/edgellm-tier{tier}/{TierAskTopic(tier)}";

    /// <summary>Where the upstream tier answers what this node escalated.</summary>
    public string UpstreamTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/upstream";

    /// <summary>Where the fleet sends this node commands about its models.</summary>
    public string CommandTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/cmd";

    /// <summary>Who may send commands: Mqtt:Commands.</summary>
    public CommandOptions Commands { get; set; } = new();
}

/// <summary>
/// Mqtt:Commands: who may command the node's models. The embedded broker tells the node which client id and
/// user sent each command; a fleet broker cannot (MQTT carries no sender), so there its ACL must keep the
/// command topic to the allowed senders and the node is told to rely on it with TrustBrokerAcl.
/// </summary>
internal sealed class CommandOptions
{
    /// <summary>Client ids allowed to send commands through the embedded broker.</summary>
    public string[] AllowedClients { get; set; } = [];

    /// <summary>User names allowed to send commands through the embedded broker.</summary>
    public string[] AllowedUsers { get; set; } = [];

    /// <summary>With a fleet broker (Mqtt:Server): take every command, the broker's ACL having let only allowed senders publish them.</summary>
    public bool TrustBrokerAcl { get; set; }

    public bool Enabled => AllowedClients.Length > 0 || AllowedUsers.Length > 0 || TrustBrokerAcl;
}

/// <summary>Checks <see cref="MqttOptions"/>, naming the key of every value that is wrong.</summary>
internal sealed partial class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions options) =>
        new OptionsCheck(MqttOptions.Section)
            .Matches(nameof(MqttOptions.Server), options.Server, HostAndPort(), "host:port (or empty for the embedded broker)")
            .Range(nameof(MqttOptions.EmbeddedPort), options.EmbeddedPort, 1, 65535)
            .That(System.Net.IPAddress.TryParse(options.EmbeddedAddress, out _), $"Mqtt:EmbeddedAddress must be an IP address, not '{options.EmbeddedAddress}'")
            .FileExists(nameof(MqttOptions.PasswordFile), options.PasswordFile)
            .FileExists(nameof(MqttOptions.CaFile), options.CaFile)
            .FileExists(nameof(MqttOptions.ClientCertFile), options.ClientCertFile)
            .That(options.PasswordFile.Length == 0 || options.Username.Length > 0, "Mqtt:PasswordFile needs Mqtt:Username")
            .That(options.UseTls || (options.CaFile.Length == 0 && options.ClientCertFile.Length == 0), "Mqtt:CaFile and Mqtt:ClientCertFile need Mqtt:UseTls true")
            .Matches(nameof(MqttOptions.TopicPrefix), options.TopicPrefix, TopicLevels(), "topic levels without wildcards, e.g. \"edgellm\"")
            .That(TopicFilters.IsValidFilter(options.EffectiveRequestTopic), $"Mqtt:RequestTopic '{options.EffectiveRequestTopic}' is not a valid MQTT topic filter")
            .Range(nameof(MqttOptions.SessionExpirySeconds), options.SessionExpirySeconds, 0, 604800)
            .Range(nameof(MqttOptions.StatusIntervalSeconds), options.StatusIntervalSeconds, 1, 3600)
            .That(!options.Commands.TrustBrokerAcl || options.Server.Length > 0, "Mqtt:Commands:TrustBrokerAcl needs a fleet broker (Mqtt:Server): the embedded broker checks Mqtt:Commands:AllowedClients and AllowedUsers itself")
            .Result();

    [GeneratedRegex(@"^$|^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):[0-9]{1,5}$")]
    private static partial Regex HostAndPort();

    [GeneratedRegex(@"^[^#+/\s]+(/[^#+/\s]+)*$")]
    private static partial Regex TopicLevels();
}
