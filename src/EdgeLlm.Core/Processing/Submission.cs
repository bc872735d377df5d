using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Processing;

/// <summary>A request handed to the pipeline, with when it arrived, when it must be answered by and where the answer goes.</summary>
/// <param name="Deadline">The earlier of maxLatencyMs and the message's expiry; null when neither is set.</param>
public sealed record Submission(Request Request, DateTimeOffset ReceivedAt, DateTimeOffset? Deadline, IReplyTarget ReplyTo);

/// <summary>What became of a submission at the door.</summary>
public enum SubmitOutcome
{
    /// <summary>Queued: its reply comes when it has run.</summary>
    Queued,

    /// <summary>Answered at once with an error (busy, no model, expired, shutting down).</summary>
    Refused,

    /// <summary>A repeat of a request already taken: it gets no second reply.</summary>
    Duplicate,
}
