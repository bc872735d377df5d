using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Node": who this node is in the hierarchy.</summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>Names the node in topics and answers; empty means the host name.</summary>
    [Matches("^[A-Za-z0-9._-]{0,64}$", "up to 64 letters, digits, '.', '_' or '-' (it becomes an MQTT topic level)")]
    public string Id { get; set; } = "";

    /// <summary>The layer of the hierarchy: 0 for a device, higher for gateways and servers (docs/design.md §1).</summary>
    [Between(0, 9)]
    public int Tier { get; set; }
}

[OptionsValidator]
public sealed partial class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<NodeOptions> Keyed { get; } = new KeyedValidator<NodeOptions>(NodeOptions.Section, new NodeOptionsValidator());
}
