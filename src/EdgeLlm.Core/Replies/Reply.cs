namespace EdgeLlm.Core.Replies;

/// <summary>The one final reply every accepted request gets: an <see cref="Answer"/> or a <see cref="Failure"/>.</summary>
public abstract record Reply(string? RequestId);

/// <summary>How a request was routed, and why (DESIGN.md §7 reason codes), with the recommender's predictions.</summary>
/// <param name="Decision">"local" or "escalated".</param>
/// <param name="Degraded">The answer comes from the best model available, which misses some requirement.</param>
public sealed record Route(string Decision, IReadOnlyList<string> Reasons, Routing.Prediction? Predicted = null, bool Degraded = false);

public sealed record Usage(int PromptTokens, int CompletionTokens);

/// <param name="FinishReason">"stop" (an end token) or "length" (the token limit).</param>
public sealed record Answer(
    string? RequestId,
    string Text,
    string FinishReason,
    string Node,
    int Tier,
    string Model,
    Route Route,
    Usage Usage,
    long LatencyMs) : Reply(RequestId);

public sealed record Failure(string? RequestId, ErrorCode Code, string Message) : Reply(RequestId);
