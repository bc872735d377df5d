using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Upstream": where this node sends what it cannot meet (docs/design.md §4).</summary>
public sealed class UpstreamOptions
{
    public const string Section = "Upstream";
    public const string DegradedLocal = "degraded-local";
    public const string Error = "error";

    /// <summary>The tier to escalate to; absent means this node escalates nowhere.</summary>
    [Between(0, 9)]
    public int? Tier { get; set; }

    /// <summary>How long to wait for the upstream's answer (also bounded by the request's deadline).</summary>
    [Between(1, 3_600_000)]
    public int TimeoutMs { get; set; } = 10_000;

    /// <summary>When the upstream is silent: "degraded-local" answers with the best local model, "error" answers upstream-unavailable.</summary>
    [OneOf(DegradedLocal, Error, Rule = "\"" + DegradedLocal + "\" or \"" + Error + "\"")]
    public string Fallback { get; set; } = DegradedLocal;

    /// <summary>Most escalation hops a request may take; one more is answered with an error, never forwarded.</summary>
    [Between(1, 16)]
    public int MaxHops { get; set; } = 3;

    /// <summary>Escalated requests awaiting their upstream at once; past this the node answers busy.</summary>
    [Between(1, 4096)]
    public int MaxInFlight { get; set; } = 64;
}

[OptionsValidator]
public sealed partial class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<UpstreamOptions> Keyed { get; } = new KeyedValidator<UpstreamOptions>(UpstreamOptions.Section, new UpstreamOptionsValidator());
}
