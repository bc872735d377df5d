using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>One reply as the fleet page lists it: how it was routed and how it ended, never what was asked.</summary>
/// <param name="Decision">local, escalated, or refused (an error before any route was taken).</param>
/// <param name="Error">The error's wire code; null for an answer.</param>
/// <param name="Model">The model that answered here; null for an error or a relayed reply.</param>
/// <param name="Milliseconds">From the request's arrival to its reply; null for a message refused unread.</param>
/// <param name="Tokens">Tokens written by the local model; null otherwise.</param>
public sealed record RecentDecision(
    DateTimeOffset At,
    string? RequestId,
    string Decision,
    IReadOnlyList<string> Reasons,
    bool Degraded,
    string? Model,
    string? Error,
    long? Milliseconds,
    int? Tokens)
{
    public const string Refused = "refused";

    public static RecentDecision Of(Reply reply, Route? route, DateTimeOffset at, TimeSpan? duration) => new(
        at,
        reply.RequestId,
        route?.Decision ?? Refused,
        route?.Reasons ?? [],
        route?.Degraded ?? false,
        (reply as Answer)?.Model,
        reply.ErrorCode?.ToWireName(),
        duration is TimeSpan elapsed ? (long)elapsed.TotalMilliseconds : null,
        (reply as Answer)?.Usage.CompletionTokens);
}

/// <summary>The last <see cref="Capacity"/> decisions, newest first, for a node's detail on the fleet page.</summary>
public sealed class RecentDecisions
{
    /// <summary>Enough to see a pattern, few enough that the retained status stays a couple of kilobytes.</summary>
    public const int Capacity = 10;

    private readonly LinkedList<RecentDecision> _decisions = new();
    private readonly Lock _lock = new();

    public void Add(RecentDecision decision)
    {
        lock (_lock)
        {
            _decisions.AddFirst(decision);
            if (_decisions.Count > Capacity)
            {
                _decisions.RemoveLast();
            }
        }
    }

    public IReadOnlyList<RecentDecision> Snapshot()
    {
        lock (_lock)
        {
            return [.. _decisions];
        }
    }
}
