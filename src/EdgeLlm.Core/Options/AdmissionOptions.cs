using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Admission": what the node takes on, and how long it waits on it.</summary>
public sealed class AdmissionOptions
{
    public const string Section = "Admission";

    /// <summary>Requests waiting for the model (1 to 1024); one more is answered busy.</summary>
    public int QueueCapacity { get; set; } = 16;

    /// <summary>Largest prompt (with its system text), in UTF-8 bytes (64 to 1 MiB); larger is answered too-large.</summary>
    public int MaxPromptBytes { get; set; } = 8192;

    /// <summary>Tokens to generate when a request names no maxTokens (1 to 65536).</summary>
    public int DefaultMaxTokens { get; set; } = 128;

    /// <summary>How long a request id is remembered, so that a repeat is answered once (1 s to a day).</summary>
    public int DuplicateWindowSeconds { get; set; } = 300;

    /// <summary>On shutdown, how long requests already taken may still run before they are answered timeout (0 to 600 s).</summary>
    public int ShutdownGraceSeconds { get; set; } = 10;

    /// <summary>Requests waiting, outside the queue, for their model to be pulled (0 to 65536); one more is answered busy.</summary>
    public int MaxAwaitingPull { get; set; } = 64;
}

public sealed class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    public ValidateOptionsResult Validate(string? name, AdmissionOptions options) =>
        new OptionsCheck(AdmissionOptions.Section)
            .Range(nameof(AdmissionOptions.QueueCapacity), options.QueueCapacity, 1, 1024)
            .Range(nameof(AdmissionOptions.MaxPromptBytes), options.MaxPromptBytes, 64, 1 << 20)
            .Range(nameof(AdmissionOptions.DefaultMaxTokens), options.DefaultMaxTokens, 1, 65536)
            .Range(nameof(AdmissionOptions.DuplicateWindowSeconds), options.DuplicateWindowSeconds, 1, 86400)
            .Range(nameof(AdmissionOptions.ShutdownGraceSeconds), options.ShutdownGraceSeconds, 0, 600)
            .Range(nameof(AdmissionOptions.MaxAwaitingPull), options.MaxAwaitingPull, 0, 65536)
            .Result();
}
