namespace EdgeLlm.Onnx.Engine;

/// <summary>How one generation runs.</summary>
public sealed record GenerationSettings
{
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>0 picks the most likely token (greedy); above 0 samples from the softened distribution.</summary>
    public float Temperature { get; init; }

    /// <summary>Seed of the sampler; null draws one from the system's random source.</summary>
    public int? Seed { get; init; }

    /// <summary>When generation stops with what it has, measured on <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset? Deadline { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Told, while the prompt is read, the share of it read so far (from 0 to 1).</summary>
    public Action<double>? OnPrefill { get; init; }
}

/// <summary>Why a generation ended.</summary>
public enum FinishReason
{
    /// <summary>The model produced one of its end tokens.</summary>
    Stop,

    /// <summary>The new-token limit or the model's context length was reached.</summary>
    Length,

    /// <summary>The deadline passed.</summary>
    Deadline,
}

/// <summary>The outcome of one generation.</summary>
/// <param name="PromptTokens">Ids fed before generation, BOS included.</param>
/// <param name="TokenIds">The generated ids, without the end token that stopped them.</param>
/// <param name="CachedPromptTokens">Prompt tokens whose keys and values came from the prompt cache rather than being read again.</param>
public sealed record GenerationResult(int PromptTokens, IReadOnlyList<int> TokenIds, string Text, FinishReason FinishReason, int CachedPromptTokens = 0);
