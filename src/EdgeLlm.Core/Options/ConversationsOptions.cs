using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Conversations": the conversations a node keeps, and the prompt cache that makes their turns quick (docs/design.md §3a).</summary>
public sealed class ConversationsOptions
{
    public const string Section = "Conversations";

    /// <summary>Conversations kept at once; one more drops the one idle longest.</summary>
    [Between(0, 100_000)]
    public int Max { get; set; } = 256;

    /// <summary>A conversation not spoken in for this long is forgotten.</summary>
    [Between(1, 10_080)]
    public int IdleMinutes { get; set; } = 30;

    /// <summary>
    /// Sequences whose KV cache a loaded model keeps, so that a request that starts with one prefills only the
    /// rest; 0 keeps none. Each holds the KV cache of up to twice its sequence's length (at least 2048 tokens
    /// more), within the model's context.
    /// </summary>
    [Between(0, 16)]
    public int CacheSlots { get; set; } = 2;
}

[OptionsValidator]
public sealed partial class ConversationsOptionsValidator : IValidateOptions<ConversationsOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<ConversationsOptions> Keyed { get; } = new KeyedValidator<ConversationsOptions>(ConversationsOptions.Section, new ConversationsOptionsValidator());
}
