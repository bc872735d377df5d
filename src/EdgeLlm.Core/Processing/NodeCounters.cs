using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>Replies sent since start, answers and errors by code, for the status advertisement.</summary>
public sealed class NodeCounters
{
    private readonly long[] _errors = new long[ErrorCodeNames.All.Count];
    private long _answers;
    private long _cancelled;

    public long Answers => Interlocked.Read(ref _answers);

    /// <summary>Answers cut short by a cancel or a requester gone (counted among the answers too).</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Error replies of every code.</summary>
    public long TotalErrors => ErrorCodeNames.All.Sum(code => Interlocked.Read(ref _errors[(int)code]));

    public void Count(Reply reply)
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
    }

    /// <summary>Errors by wire code; codes never seen are left out.</summary>
    public IReadOnlyDictionary<string, long> Errors() =>
        ErrorCodeNames.All.Where(code => Interlocked.Read(ref _errors[(int)code]) > 0)
            .ToDictionary(code => code.ToWireName(), code => Interlocked.Read(ref _errors[(int)code]));
}
