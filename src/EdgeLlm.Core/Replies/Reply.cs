namespace EdgeLlm.Core.Replies;

/// <summary>
/// The one final reply every accepted request gets: an <see cref="Answer"/>, a <see cref="Failure"/>, or an
/// upper tier's reply <see cref="Relayed"/>.
/// </summary>
public abstract record Reply(string? RequestId)
{
    /// <summary>The error the requester is told of; null for an answer.</summary>
    public abstract ErrorCode? ErrorCode { get; }
}

/// <summary>How a request was routed, and why (docs/design.md §7 reason codes), with the recommender's predictions.</summary>
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
    long LatencyMs) : Reply(RequestId)
{
    public override ErrorCode? ErrorCode => null;
}

public sealed record Failure(string? RequestId, ErrorCode Code, string Message) : Reply(RequestId)
{
    public override ErrorCode? ErrorCode => Code;
}

/// <summary>What a node command (edgellm/node/{nodeId}/cmd) did, in words.</summary>
/// <param name="Outcome">What was done, as a word on the wire (pulled, already-present, unloaded, not-loaded, pinned, unpinned).</param>
/// <param name="Result">The same, in a sentence for people.</param>
public sealed record CommandResult(string? RequestId, string Command, string Model, string Outcome, string Result) : Reply(RequestId)
{
    public override ErrorCode? ErrorCode => null;
}

/// <summary>
/// An upstream tier's reply passed on to the requester (docs/design.md §4): its envelope as it came (answer or
/// error), under the requester's id, with this node's route around the upstream's.
/// </summary>
/// <param name="Error">The upstream's error code; null for an answer.</param>
public sealed record Relayed(string? RequestId, ReadOnlyMemory<byte> Envelope, ErrorCode? Error, Route Route) : Reply(RequestId)
{
    public const string Decision = "escalated";

    public override ErrorCode? ErrorCode => Error;
}
