using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Streaming": how a streamed answer's chunks are paced (docs/design.md §3a).</summary>
public sealed class StreamingOptions
{
    public const string Section = "Streaming";

    /// <summary>Tokens written within this many milliseconds go out as one chunk, so that a small broker is not flooded.</summary>
    [Between(0, 10_000)]
    public int IntervalMs { get; set; } = 100;

    /// <summary>While the prompt is read, a heartbeat chunk this often (the protocol promises one at least every 2 s).</summary>
    [Between(100, 2000)]
    public int HeartbeatMs { get; set; } = 1000;
}

[OptionsValidator]
public sealed partial class StreamingOptionsValidator : IValidateOptions<StreamingOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<StreamingOptions> Keyed { get; } = new KeyedValidator<StreamingOptions>(StreamingOptions.Section, new StreamingOptionsValidator());
}
