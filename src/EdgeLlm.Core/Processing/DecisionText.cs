using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Processing;

/// <summary>A decision that left a request unanswerable, in the words its error message gives the requester.</summary>
internal static class DecisionText
{
    /// <param name="queueCapacity">The queue's size, for the reason "queue".</param>
    public static string WhyNot(Decision decision, int queueCapacity)
    {
        string lead = decision.RejectCode == ErrorCode.RejectedPrivacy ? "privacy is local and no model here can answer it" : "no model can answer it now";
        return $"{lead}: {string.Join("; ", decision.Reasons.Select(reason => Explain(reason, queueCapacity)))}";
    }

    private static string Explain(string reason, int queueCapacity) => reason switch
    {
        Reasons.Queue => $"the queue is full ({queueCapacity} requests waiting)",
        Reasons.Thermal => "the board is too hot",
        Reasons.Power => "the board is short of power (under-voltage or a low battery)",
        Reasons.Memory => "no model fits in the memory left",
        Reasons.Domain => "no model here covers the domain",
        Reasons.Quality => "no model here reaches the quality asked for",
        Reasons.Latency => "no model here answers within the deadline",
        Reasons.Cost => "no model here is within the cost asked for",
        Reasons.Privacy => "privacy keeps it from the tiers that could",
        Reasons.NoUpstream => "no upstream is reachable",
        Reasons.NoLocalModel => "this node has no local model",
        Reasons.AcquireFailed => "the model it needed could not be pulled",
        _ => reason,
    };
}
