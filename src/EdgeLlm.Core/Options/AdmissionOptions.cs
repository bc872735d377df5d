using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Admission": what the node takes on, and how long it waits on it.</summary>
public sealed class AdmissionOptions
{
    public const string Section = "Admission";

    /// <summary>Requests waiting for the model; one more is answered busy.</summary>
    [Between(1, 1024)]
    public int QueueCapacity { get; set; } = 16;

    /// <summary>
    /// Queue places one requester may hold (its request topic; on the embedded broker also its client id;
    /// for an escalated request, the node that sent it up); one more is answered busy. 0: a quarter of the
    /// queue, at least one.
    /// </summary>
    [Between(0, 1024)]
    public int MaxPerRequester { get; set; }

    /// <summary>What MaxPerRequester comes to for this queue.</summary>
    public int EffectiveMaxPerRequester => MaxPerRequester > 0 ? MaxPerRequester : Math.Max(1, QueueCapacity / 4);

    /// <summary>Largest prompt (with its system text), in UTF-8 bytes; larger is answered too-large.</summary>
    [Between(64, 1 << 20)]
    public int MaxPromptBytes { get; set; } = 8192;

    /// <summary>Tokens to generate when a request names no maxTokens.</summary>
    [Between(1, 65536)]
    public int DefaultMaxTokens { get; set; } = 128;

    /// <summary>How long (s) a request id is remembered, so that a repeat is answered once.</summary>
    [Between(1, 86400)]
    public int DuplicateWindowSeconds { get; set; } = 300;

    /// <summary>On shutdown, how long (s) requests already taken may still run before they are answered timeout.</summary>
    [Between(0, 600)]
    public int ShutdownGraceSeconds { get; set; } = 10;

    /// <summary>Requests waiting, outside the queue, for their model to be pulled; one more is answered busy.</summary>
    [Between(0, 65536)]
    public int MaxAwaitingPull { get; set; } = 64;
}

[OptionsValidator]
public sealed partial class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<AdmissionOptions> Keyed { get; } = new KeyedValidator<AdmissionOptions>(AdmissionOptions.Section, new AdmissionOptionsValidator());
}
