namespace EdgeLlm.Core.Processing;

/// <summary>
/// Request ids seen within a window, so that a redelivered or repeated request is answered once. Holds at
/// most <paramref name="capacity"/> ids: past that the oldest are forgotten early rather than memory grow.
/// </summary>
internal sealed class RecentRequestIds(TimeSpan window, int capacity, TimeProvider timeProvider)
{
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, DateTimeOffset Seen)> _order = new();
    private readonly Lock _lock = new();

    /// <summary>True when <paramref name="key"/> is new (and now remembered); false for a repeat within the window.</summary>
    public bool TryRegister(string key)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            while (_order.TryPeek(out var oldest) && (now - oldest.Seen >= window || _order.Count >= capacity))
            {
                _order.Dequeue();
                if (_seen.TryGetValue(oldest.Key, out var seen) && seen == oldest.Seen)
                {
                    _seen.Remove(oldest.Key);
                }
            }

            if (_seen.ContainsKey(key))
            {
                return false;
            }

            _seen[key] = now;
            _order.Enqueue((key, now));
            return true;
        }
    }
}
