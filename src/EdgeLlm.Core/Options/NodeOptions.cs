using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Node": who this node is in the hierarchy.</summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>Names the node in topics and answers; empty means the host name.</summary>
    public string Id { get; set; } = "";

    /// <summary>The layer of the hierarchy: 0 for a device, higher for gateways and servers (docs/design.md §1).</summary>
    public int Tier { get; set; }
}

public sealed partial class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options) =>
        new OptionsCheck(NodeOptions.Section)
            .Matches(nameof(NodeOptions.Id), options.Id, TopicLevel(), "up to 64 letters, digits, '.', '_' or '-' (it becomes an MQTT topic level)")
            .Range(nameof(NodeOptions.Tier), options.Tier, 0, 9)
            .Result();

    [GeneratedRegex("^[A-Za-z0-9._-]{0,64}$")]
    private static partial Regex TopicLevel();
}
