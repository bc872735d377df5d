using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Upstream": where this node sends what it cannot meet (docs/design.md §4).</summary>
public sealed class UpstreamOptions
{
    public const string Section = "Upstream";
    public const string DegradedLocal = "degraded-local";
    public const string Error = "error";

    /// <summary>The tier to escalate to; absent means this node escalates nowhere.</summary>
    public int? Tier { get; set; }

    /// <summary>How long to wait for the upstream's answer (also bounded by the request's deadline).</summary>
    public int TimeoutMs { get; set; } = 10_000;

    /// <summary>When the upstream is silent: "degraded-local" answers with the best local model, "error" answers upstream-unavailable.</summary>
    public string Fallback { get; set; } = DegradedLocal;

    /// <summary>Most escalation hops a request may take; one more is answered with an error, never forwarded.</summary>
    public int MaxHops { get; set; } = 3;

    /// <summary>Escalated requests awaiting their upstream at once; past this the node answers busy.</summary>
    public int MaxInFlight { get; set; } = 64;
}

public sealed class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>
{
    public ValidateOptionsResult Validate(string? name, UpstreamOptions options) =>
        new OptionsCheck(UpstreamOptions.Section)
            .That(options.Tier is null or (>= 0 and <= 9), $"Upstream:Tier must be from 0 to 9, not {options.Tier}")
            .Range(nameof(UpstreamOptions.TimeoutMs), options.TimeoutMs, 1, 3_600_000)
            .That(options.Fallback is UpstreamOptions.DegradedLocal or UpstreamOptions.Error, $"Upstream:Fallback must be \"{UpstreamOptions.DegradedLocal}\" or \"{UpstreamOptions.Error}\", not '{options.Fallback}'")
            .Range(nameof(UpstreamOptions.MaxHops), options.MaxHops, 1, 16)
            .Range(nameof(UpstreamOptions.MaxInFlight), options.MaxInFlight, 1, 4096)
            .Result();
}
