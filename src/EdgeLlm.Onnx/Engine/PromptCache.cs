using Microsoft.ML.OnnxRuntimeGenAI;

namespace EdgeLlm.Onnx.Engine;

/// <summary>
/// The KV caches a loaded model keeps of its last sequences (Conversations:CacheSlots, docs/design.md §3a): a
/// generation whose prompt starts like a kept sequence takes that generator, rewinds it to the shared prefix
/// and reads only the rest (GenAI's continuous decoding: RewindTo, then AppendTokens). The least recently used
/// sequence goes when a slot is needed, and every one goes when the board has no memory to spare for them.
/// </summary>
/// <param name="mayKeep">Whether the board can spare the memory the kept sequences hold; null: always.</param>
internal sealed class PromptCache(int slots, Func<bool>? mayKeep) : IDisposable
{
    private readonly Lock _lock = new();
    // Least recently used first.
    private readonly List<CachedSequence> _kept = [];

    public int Slots => slots;

    /// <summary>
    /// The kept sequence sharing the longest prefix with <paramref name="promptIds"/> that has room for
    /// <paramref name="length"/> tokens and was sampled the same way, taken out of the cache; null when none shares a token.
    /// </summary>
    public CachedSequence? Take(IReadOnlyList<int> promptIds, int length, GenerationSettings settings)
    {
        lock (_lock)
        {
            var best = _kept.Where(k => k.MaxLength >= length && k.SamplesLike(settings)).MaxBy(k => k.SharedPrefix(promptIds));
            if (best is null || best.SharedPrefix(promptIds) == 0)
            {
                return null;
            }

            _kept.Remove(best);
            return best;
        }
    }

    /// <summary>
    /// Keeps <paramref name="sequence"/> as the most recently used; frees the least recently used beyond the
    /// slots, or all of them when the board cannot spare their memory.
    /// </summary>
    public void Keep(CachedSequence sequence)
    {
        CachedSequence[] freed;
        lock (_lock)
        {
            _kept.Add(sequence);
            int keep = mayKeep?.Invoke() is false ? 0 : slots;
            freed = _kept.Count > keep ? [.. _kept.Take(_kept.Count - keep)] : [];
            _kept.RemoveRange(0, freed.Length);
        }

        foreach (var old in freed)
        {
            old.Dispose();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var kept in _kept)
            {
                kept.Dispose();
            }

            _kept.Clear();
        }
    }
}

/// <summary>A generator with the sequence its KV cache holds, and the settings it was made with.</summary>
internal sealed class CachedSequence(GeneratorParams parameters, Generator generator, int maxLength, GenerationSettings settings) : IDisposable
{
    public Generator Generator { get; } = generator;

    /// <summary>The generator's max_length: the longest sequence it can hold.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>The tokens whose keys and values the cache holds, in order.</summary>
    public int[] Tokens { get; set; } = [];

    // A seeded sampler must start from its seed: only an unseeded one, or greedy search, goes on from a kept state.
    public bool SamplesLike(GenerationSettings other) => settings.Seed is null && other.Seed is null && settings.Temperature == other.Temperature;

    /// <summary>
    /// Tokens of <paramref name="promptIds"/> whose cache can be reused: the shared prefix, short of the kept
    /// sequence's last token (whose keys and values are computed only with the next step) and leaving at least
    /// one prompt token to read (the first generated token comes from its logits).
    /// </summary>
    public int SharedPrefix(IReadOnlyList<int> promptIds)
    {
        int limit = Math.Min(Tokens.Length - 1, promptIds.Count - 1);
        int shared = 0;
        while (shared < limit && Tokens[shared] == promptIds[shared])
        {
            shared++;
        }

        return shared;
    }

    public void Dispose()
    {
        Generator.Dispose();
        parameters.Dispose();
    }
}
