using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>An upstream tier's reply as it came: its envelope, and its error code when it is an error.</summary>
public sealed record UpstreamReply(ReadOnlyMemory<byte> Envelope, ErrorCode? Error);

/// <summary>A chunk of an upstream's streamed answer (docs/design.md §3a) as it came: text, or a heartbeat while it reads the prompt.</summary>
/// <param name="Node">The upstream node that answers, when the chunk names it (the first does).</param>
public sealed record UpstreamChunk(string? Node, string? Delta, double? PrefillProgress);

/// <summary>What the caller of an escalation watches for meanwhile.</summary>
/// <param name="OnChunk">Each chunk of a streamed request's answer, in order, once; null for a request that is not streamed.</param>
/// <param name="Cancelled">The requester's cancel, which is sent up; the upstream's final reply still ends the escalation.</param>
public sealed record EscalationWatch(Action<UpstreamChunk>? OnChunk, CancellationToken Cancelled);

/// <summary>Sends a request up to the upstream tier (docs/design.md §4) and brings its reply back.</summary>
public interface IEscalator
{
    /// <summary>
    /// Sends <paramref name="request"/> with <paramref name="path"/> (this node last) as its hop path; completes
    /// with the upstream's reply, or with null when none came by <paramref name="giveUpAt"/> (one that comes
    /// later is dropped: a request gets one reply).
    /// </summary>
    Task<UpstreamReply?> EscalateAsync(Requests.Request request, IReadOnlyList<string> path, DateTimeOffset giveUpAt, EscalationWatch watch, CancellationToken cancellationToken);
}
