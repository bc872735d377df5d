using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Routing;

/// <summary>The reason codes a decision gives (docs/design.md §7).</summary>
public static class Reasons
{
    public const string FitsLocal = "fits-local";
    public const string Quality = "quality";
    public const string Domain = "domain";
    public const string Memory = "memory";
    public const string Thermal = "thermal";
    public const string Power = "power";
    public const string Latency = "latency";
    public const string Cost = "cost";
    public const string Privacy = "privacy";
    public const string Queue = "queue";
    public const string NoUpstream = "no-upstream";

    /// <summary>The node has no local model at all (none configured, none that loads).</summary>
    public const string NoLocalModel = "no-local-model";

    /// <summary>The chosen local model is not on the board yet and is pulled first.</summary>
    public const string Acquire = "acquire";

    /// <summary>The model the request was to wait for could not be pulled, so it was routed again without it.</summary>
    public const string AcquireFailed = "acquire-failed";
}

public enum RouteOutcome
{
    Local,
    Escalate,
    Reject,
}

/// <summary>What the recommender predicts for the model it chose; null where it cannot tell.</summary>
public sealed record Prediction(double? LatencyMs, double? Quality, double? Cost);

/// <summary>The recommender's choice for one request, and why.</summary>
/// <param name="Domain">The request's domain, as given or as the keyword classifier found it.</param>
/// <param name="Degraded">The choice misses some requirement; it is the best available.</param>
/// <param name="RejectCode">For <see cref="RouteOutcome.Reject"/>: the error to answer with.</param>
/// <param name="Acquire">
/// A catalog model to pull: with <see cref="RouteOutcome.Local"/> the chosen model itself, which the request
/// waits for; otherwise one that would meet the request once on the board, pulled in the background.
/// </param>
public sealed record Decision(
    RouteOutcome Outcome,
    string Domain,
    string? Model,
    int? Tier,
    IReadOnlyList<string> Reasons,
    Prediction Predicted,
    bool Degraded,
    ErrorCode? RejectCode = null,
    string? Acquire = null)
{
    public string OutcomeName => Outcome switch
    {
        RouteOutcome.Local => "local",
        RouteOutcome.Escalate => "escalate",
        _ => "reject",
    };
}
