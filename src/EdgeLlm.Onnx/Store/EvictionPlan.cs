namespace EdgeLlm.Onnx.Store;

/// <summary>
/// Which models to evict, least recently used first, for something of <c>need</c> bytes to fit where
/// <c>free</c> bytes are left: the one plan behind the store's disk budget and the loaded models' memory.
/// </summary>
internal static class EvictionPlan
{
    /// <param name="candidates">What may go, least recently used first, each with the bytes its going frees.</param>
    /// <returns>The candidates to evict, in that order (none when it fits already); null when even all of them would not make room.</returns>
    public static IReadOnlyList<T>? For<T>(long need, long free, IEnumerable<(T Item, long Bytes)> candidates)
    {
        var evictions = new List<T>();
        foreach (var (item, bytes) in candidates)
        {
            if (need <= free)
            {
                break;
            }

            evictions.Add(item);
            free += bytes;
        }

        return need <= free ? evictions : null;
    }
}
