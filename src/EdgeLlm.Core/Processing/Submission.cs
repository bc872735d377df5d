using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Processing;

/// <summary>A request handed to the pipeline, with when it arrived, when it must be answered by and where the answer goes.</summary>
/// <param name="Deadline">The earlier of maxLatencyMs and the message's expiry; null when neither is set.</param>
/// <param name="Path">The nodes that escalated it here, first to last (docs/design.md §4's hop path); empty from a requester.</param>
public sealed record Submission(Request Request, DateTimeOffset ReceivedAt, DateTimeOffset? Deadline, IReplyTarget ReplyTo, IReadOnlyList<string> Path)
{
    /// <summary>
    /// Who asked, as far as the transport can tell (Admission:MaxPerRequester): its request topic, with its
    /// client id where the broker names it, or the node that escalated it; null for the board's own requests.
    /// </summary>
    public string? Requester { get; init; }

    /// <summary>Cancelled when the requester cancels the request (docs/design.md §3a); set by the pipeline when it takes it.</summary>
    public CancellationToken Cancelled { get; init; }

    /// <summary>
    /// What the spans of this request's work hang under: the requester's traceparent on arrival (none when it
    /// sent none), the node's request span once the pipeline takes it.
    /// </summary>
    public System.Diagnostics.ActivityContext TraceContext { get; init; }

    public Submission(Request request, DateTimeOffset receivedAt, DateTimeOffset? deadline, IReplyTarget replyTo)
        : this(request, receivedAt, deadline, replyTo, [])
    {
    }
}

/// <summary>What became of a submission at the door.</summary>
public enum SubmitOutcome
{
    /// <summary>Queued: its reply comes when it has run.</summary>
    Queued,

    /// <summary>Answered at once with an error (busy, no model, expired, shutting down).</summary>
    Refused,

    /// <summary>A repeat of a request already taken: it gets no second reply.</summary>
    Duplicate,

    /// <summary>Sent to the upstream tier: its reply (or the fallback's) comes when it does.</summary>
    Escalated,
}
