using System.ComponentModel.DataAnnotations;
using System.Net;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Connection;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt;

/// <summary>Configuration section "Mqtt": the broker the node talks through, and its topics (docs/design.md §3).</summary>
internal sealed class MqttOptions : IValidatableObject
{
    public const string Section = "Mqtt";

    /// <summary>The fleet's broker as host:port; empty runs the embedded broker and uses it.</summary>
    [Matches(@"^$|^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):[0-9]{1,5}$", "host:port (or empty for the embedded broker)")]
    public string Server { get; set; } = "";

    /// <summary>The embedded broker's port.</summary>
    [Between(1, 65535)]
    public int EmbeddedPort { get; set; } = 1883;

    /// <summary>The address the embedded broker listens on; loopback unless the node should take requests from other hosts.</summary>
    [IpAddress]
    public string EmbeddedAddress { get; set; } = "127.0.0.1";

    public string Username { get; set; } = "";

    /// <summary>A file holding the password (its first line), so that the password stays out of configuration.</summary>
    [ExistingFile]
    public string PasswordFile { get; set; } = "";

    public bool UseTls { get; set; }

    /// <summary>PEM file of the certificate authorities that sign the broker's certificate (else the system's).</summary>
    [ExistingFile]
    public string CaFile { get; set; } = "";

    /// <summary>The node's own certificate for brokers that ask for one: PEM with its key, or PKCS#12.</summary>
    [ExistingFile]
    public string ClientCertFile { get; set; } = "";

    /// <summary>The first topic level of everything the node publishes and, by default, listens to.</summary>
    [Matches(@"^[^#+/\s]+(/[^#+/\s]+)*$", "topic levels without wildcards, e.g. \"edgellm\"")]
    public string TopicPrefix { get; set; } = "edgellm";

    /// <summary>The filter requests arrive on; empty means "{TopicPrefix}/ask/#". A "$share/group/" filter spreads requests over nodes.</summary>
    public string RequestTopic { get; set; } = "";

    /// <summary>How long the broker keeps the node's session (and the QoS 1 requests for it) while the node is away.</summary>
    [Between(0, 604800)]
    public int SessionExpirySeconds { get; set; } = 3600;

    /// <summary>How often the retained status is refreshed (it is also sent at start and after every reconnection).</summary>
    [Between(1, 3600)]
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

    /// <summary>Where a requester asks this node itself, e.g. to go on with a conversation it keeps (docs/design.md §3a).</summary>
    public string NodeAskTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/ask";

    /// <summary>Where a requester cancels a request this node is working on (docs/design.md §3a).</summary>
    public string CancelTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/cancel";

    /// <summary>Where a node cancels what it escalated to tier <paramref name="tier"/> before it knows which of the tier's nodes took it.</summary>
    public string TierCancelTopic(int tier) => $"{TopicPrefix}/tier/{tier}/cancel";

    /// <summary>Where the fleet sends this node commands about its models.</summary>
    public string CommandTopic(string nodeId) => $"{TopicPrefix}/node/{nodeId}/cmd";

    /// <summary>Who may send commands: Mqtt:Commands.</summary>
    public CommandOptions Commands { get; set; } = new();

    /// <summary>Who may connect to the embedded broker, and over what: Mqtt:Embedded.</summary>
    [ValidateObjectMembers]
    public EmbeddedBrokerOptions Embedded { get; set; } = new();

    // The rules that span keys, each message naming them.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!TopicFilters.IsValidFilter(EffectiveRequestTopic))
        {
            yield return new ValidationResult($"Mqtt:RequestTopic '{EffectiveRequestTopic}' is not a valid MQTT topic filter");
        }

        if (PasswordFile.Length > 0 && Username.Length == 0)
        {
            yield return new ValidationResult("Mqtt:PasswordFile needs Mqtt:Username");
        }

        if (!UseTls && (CaFile.Length > 0 || ClientCertFile.Length > 0))
        {
            yield return new ValidationResult("Mqtt:CaFile and Mqtt:ClientCertFile need Mqtt:UseTls true");
        }

        if (Server.Length == 0 && IPAddress.TryParse(EmbeddedAddress, out var address) && !IPAddress.IsLoopback(address) && Embedded.UsersFile.Length == 0 && !Embedded.AllowAnonymous)
        {
            yield return new ValidationResult($"Mqtt:EmbeddedAddress {EmbeddedAddress} reaches beyond this host: the embedded broker then needs Mqtt:Embedded:UsersFile (or Mqtt:Embedded:AllowAnonymous=true to take anyone)");
        }

        if (Embedded.UsersFile.Length > 0 && File.Exists(Embedded.UsersFile) && Core.Security.PasswordFile.Problem(Embedded.UsersFile) is string problem)
        {
            yield return new ValidationResult($"Mqtt:Embedded:UsersFile: {problem}");
        }

        if (Embedded.KeyFile.Length > 0 && Embedded.CertificateFile.Length == 0)
        {
            yield return new ValidationResult("Mqtt:Embedded:KeyFile needs Mqtt:Embedded:CertificateFile");
        }

        if (Commands.TrustBrokerAcl && Server.Length == 0)
        {
            yield return new ValidationResult("Mqtt:Commands:TrustBrokerAcl needs a fleet broker (Mqtt:Server): the embedded broker checks Mqtt:Commands:AllowedClients and AllowedUsers itself");
        }
    }
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

/// <summary>
/// Mqtt:Embedded: the embedded broker's doors. On loopback (the default) it takes anyone on this host; on any
/// other address only the users of UsersFile, unless AllowAnonymous says otherwise. With a certificate it
/// also listens with TLS on TlsPort (on Mqtt:EmbeddedAddress), and its plain port on loopback only.
/// </summary>
internal sealed class EmbeddedBrokerOptions
{
    /// <summary>Take clients that give no user name, beside the users of UsersFile.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The users who may connect: "name:hash" lines written by `edgellm passwd name`.</summary>
    [ExistingFile]
    public string UsersFile { get; set; } = "";

    /// <summary>The broker's TLS certificate: PEM (its key in KeyFile, or in the same file) or PKCS#12 (.pfx, .p12).</summary>
    [ExistingFile]
    public string CertificateFile { get; set; } = "";

    /// <summary>The PEM private key of CertificateFile, when it is a file of its own.</summary>
    [ExistingFile]
    public string KeyFile { get; set; } = "";

    /// <summary>The port of the TLS listener.</summary>
    [Between(1, 65535)]
    public int TlsPort { get; set; } = 8883;
}

[OptionsValidator]
internal sealed partial class MqttOptionsValidator : IValidateOptions<MqttOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<MqttOptions> Keyed { get; } = new KeyedValidator<MqttOptions>(MqttOptions.Section, new MqttOptionsValidator());
}
