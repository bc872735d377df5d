using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// What the node has done since start, for its status advertisement and the fleet page: answers, errors by
/// code, how requests were routed and why, the local model's recent speed, and the last decisions.
/// </summary>
public sealed class NodeCounters
{
    /// <summary>Generations the speed is averaged over: enough to smooth one short answer, few enough to follow a change of model.</summary>
    private const int RateWindow = 8;

    private readonly long[] _errors = new long[ErrorCodeNames.All.Count];
    private readonly Dictionary<string, long> _decisions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _reasons = new(StringComparer.Ordinal);
    private readonly (int Tokens, double Seconds)[] _rates = new (int, double)[RateWindow];
    private readonly Lock _lock = new();
    private long _answers;
    private long _cancelled;
    private int _generations;

    public long Answers => Interlocked.Read(ref _answers);

    /// <summary>Answers cut short by a cancel or a requester gone (counted among the answers too).</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Error replies of every code.</summary>
    public long TotalErrors => ErrorCodeNames.All.Sum(code => Interlocked.Read(ref _errors[(int)code]));

    /// <summary>The last replies' decisions, newest first.</summary>
    public RecentDecisions Recent { get; } = new();

    public void Count(Reply reply, DateTimeOffset at, TimeSpan? duration)
    {
        if (reply.ErrorCode is ErrorCode code)
        {
            Interlocked.Increment(ref _errors[(int)code]);
        }
        else
        {
            Interlocked.Increment(ref _answers);
            if (reply is Answer { FinishReason: Answer.Cancelled })
            {
                Interlocked.Increment(ref _cancelled);
            }
        }

        if (reply is CommandResult)
        {
            return;
        }

        var route = RouteOf(reply);
        lock (_lock)
        {
            Increment(_decisions, route?.Decision ?? RecentDecision.Refused);
            foreach (string reason in route?.Reasons ?? [])
            {
                Increment(_reasons, reason);
            }
        }

        Recent.Add(RecentDecision.Of(reply, route, at, duration));
    }

    /// <summary>A generation on the local model: <paramref name="tokens"/> written after the first in <paramref name="seconds"/>.</summary>
    public void Generated(int tokens, double seconds)
    {
        if (tokens <= 0 || seconds <= 0)
        {
            return;
        }

        lock (_lock)
        {
            _rates[_generations++ % RateWindow] = (tokens, seconds);
        }
    }

    /// <summary>Tokens a second of the last generations after their first token; null before the first.</summary>
    public double? TokensPerSecond()
    {
        lock (_lock)
        {
            var kept = _rates.Take(Math.Min(_generations, RateWindow)).ToList();
            return kept.Count == 0 ? null : kept.Sum(r => r.Tokens) / kept.Sum(r => r.Seconds);
        }
    }

    /// <summary>Errors by wire code; codes never seen are left out.</summary>
    public IReadOnlyDictionary<string, long> Errors() =>
        ErrorCodeNames.All.Where(code => Interlocked.Read(ref _errors[(int)code]) > 0)
            .ToDictionary(code => code.ToWireName(), code => Interlocked.Read(ref _errors[(int)code]));

    /// <summary>Replies by decision: local, escalated, or refused (an error before any route was taken).</summary>
    public IReadOnlyDictionary<string, long> Decisions()
    {
        lock (_lock)
        {
            return new Dictionary<string, long>(_decisions, StringComparer.Ordinal);
        }
    }

    /// <summary>How often each routing reason (docs/design.md §7) stood behind a reply.</summary>
    public IReadOnlyDictionary<string, long> Reasons()
    {
        lock (_lock)
        {
            return new Dictionary<string, long>(_reasons, StringComparer.Ordinal);
        }
    }

    private static Route? RouteOf(Reply reply) => reply switch
    {
        Answer answer => answer.Route,
        Relayed relayed => relayed.Route,
        _ => null,
    };

    private static void Increment(Dictionary<string, long> counts, string key) =>
        counts[key] = counts.GetValueOrDefault(key) + 1;
}
