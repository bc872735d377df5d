namespace EdgeLlm.Onnx.Store;

/// <summary>Models:DiskBudgetMb: which models must go, least recently used first, for another to fit, or why it cannot.</summary>
/// <param name="bytes">Disk the store may fill; 0 for no budget.</param>
internal sealed class DiskBudget(long bytes)
{
    public long Bytes => bytes;

    /// <summary>
    /// The models to evict for <paramref name="modelBytes"/> of <paramref name="id"/> to fit beside <paramref name="present"/>,
    /// sparing pinned ones and <paramref name="keep"/>; null when it cannot fit.
    /// </summary>
    public IReadOnlyList<StoredModel>? Evictions(string id, long modelBytes, IReadOnlyCollection<string> keep, IReadOnlyList<StoredModel> present)
    {
        if (bytes == 0)
        {
            return [];
        }

        var others = present.Where(m => m.Id != id).ToList();
        return EvictionPlan.For(modelBytes, bytes - others.Sum(m => m.Bytes), others.Where(m => !m.Pinned && !keep.Contains(m.Id)).Select(m => (m, m.Bytes)));
    }

    /// <summary>Why <paramref name="id"/> cannot fit: the budget, and what stays.</summary>
    public string NoRoom(string id, long modelBytes, IReadOnlyCollection<string> keep, IReadOnlyList<StoredModel> present)
    {
        var staying = present.Where(m => m.Id != id && (m.Pinned || keep.Contains(m.Id))).ToList();
        return $"{id} needs {ByteSizes.Megabytes(modelBytes)} on disk, but Models:DiskBudgetMb allows {ByteSizes.Megabytes(bytes)} and pinned or loaded models hold {ByteSizes.Megabytes(staying.Sum(m => m.Bytes))}"
            + (staying.Count > 0 ? $" ({string.Join(", ", staying.Select(m => m.Id))})" : "");
    }
}
