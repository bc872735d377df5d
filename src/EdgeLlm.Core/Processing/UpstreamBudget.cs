namespace EdgeLlm.Core.Processing;

/// <summary>How long a node waits for its upstream before it falls back (docs/design.md §4).</summary>
internal static class UpstreamBudget
{
    /// <summary>
    /// Upstream:TimeoutMs from <paramref name="now"/>, never past the deadline, and less by what a local
    /// fallback needs to answer in time: twice its predicted time (catalog rates are rough; all the time left
    /// when it has no prediction), at least a tenth of the time left (for the queue and the way back), at
    /// most half of it.
    /// </summary>
    /// <param name="fallback">Whether a local answer would follow silence, and its predicted latency (ms) when known.</param>
    public static DateTimeOffset GiveUpAt(DateTimeOffset now, DateTimeOffset? deadline, int timeoutMs, (bool Local, double? PredictedMs) fallback)
    {
        var byTimeout = now.AddMilliseconds(timeoutMs);
        if (deadline is not DateTimeOffset due)
        {
            return byTimeout;
        }

        var left = due - now;
        var reserve = TimeSpan.Zero;
        if (fallback.Local)
        {
            var wanted = fallback.PredictedMs is double ms ? TimeSpan.FromMilliseconds(2 * ms) : left;
            reserve = wanted < left / 10 ? left / 10 : wanted > left / 2 ? left / 2 : wanted;
        }

        var byDeadline = due - reserve;
        return byDeadline < byTimeout ? byDeadline : byTimeout;
    }
}
