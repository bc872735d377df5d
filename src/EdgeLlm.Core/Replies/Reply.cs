namespace EdgeLlm.Core.Replies;

/// <summary>
/// The one final reply every accepted request gets: an <see cref="Answer"/>, a <see cref="Failure"/>, or an
/// upper tier's reply <see cref="Relayed"/>.
/// </summary>
public abstract record Reply(string? RequestId)
{
    /// <summary>The error the requester is told of; null for an answer.</summary>
    public abstract ErrorCode? ErrorCode { get; }

    /// <summary>How many chunks of a streamed request came before this final reply; null when it was not streamed.</summary>
    public int? Chunks { get; init; }

    /// <summary>The kept conversation this answer is a turn of; null for a request without a conversation id.</summary>
    public ConversationTurn? Conversation { get; init; }
}

/// <summary>Where an answer stands in a conversation the node keeps (docs/design.md §3a).</summary>
/// <param name="Turn">This exchange's number in the conversation, from 1.</param>
/// <param name="New">The node did not know the conversation (its first turn, or kept elsewhere or before a restart) and started it.</param>
/// <param name="DroppedTurns">Earlier exchanges this node no longer keeps: the oldest, dropped to fit the model's context or the prompt limit.</param>
public sealed record ConversationTurn(string Id, int Turn, bool New, int DroppedTurns);

/// <summary>How a request was routed, and why (docs/design.md §7 reason codes), with the recommender's predictions.</summary>
/// <param name="Decision">"local" or "escalated".</param>
/// <param name="Degraded">The answer comes from the best model available, which misses some requirement.</param>
public sealed record Route(string Decision, IReadOnlyList<string> Reasons, Routing.Prediction? Predicted = null, bool Degraded = false);

/// <param name="CachedPromptTokens">Prompt tokens whose KV cache was reused; null when the engine does not say.</param>
public sealed record Usage(int PromptTokens, int CompletionTokens, int? CachedPromptTokens = null);

/// <param name="FinishReason">"stop" (an end token), "length" (the token limit) or "cancelled" (a cancel, or the requester gone).</param>
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
    public const string Cancelled = "cancelled";

    public override ErrorCode? ErrorCode => null;

    /// <summary>Leading messages of the chat the engine left out to fit its context (the oldest first).</summary>
    public int DroppedMessages { get; init; }
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

/// <summary>
/// A piece of a streamed answer (docs/design.md §3a), sent before the final reply: text written, or, while the
/// prompt is read, a heartbeat with the share of it read so far.
/// </summary>
/// <param name="Node">The node that answers, on the first chunk only.</param>
public sealed record Chunk(string? RequestId, int Seq, string? Node, string? Delta, double? PrefillProgress)
{
    public const string PrefillState = "prefill";
}
