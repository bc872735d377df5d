using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>An upstream tier's reply as it came: its envelope, and its error code when it is an error.</summary>
public sealed record UpstreamReply(ReadOnlyMemory<byte> Envelope, ErrorCode? Error);

/// <summary>Sends a request up to the upstream tier (docs/design.md §4) and brings its reply back.</summary>
public interface IEscalator
{
    /// <summary>
    /// Sends <paramref name="request"/> with <paramref name="path"/> (this node last) as its hop path; completes
    /// with the upstream's reply, or with null when none came by <paramref name="giveUpAt"/> (one that comes
    /// later is dropped: a request gets one reply).
    /// </summary>
    Task<UpstreamReply?> EscalateAsync(Requests.Request request, IReadOnlyList<string> path, DateTimeOffset giveUpAt, CancellationToken cancellationToken);
}
