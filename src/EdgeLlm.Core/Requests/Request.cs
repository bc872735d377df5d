namespace EdgeLlm.Core.Requests;

/// <summary>How a request arrived, and so how it is answered: plain text gets plain text, an envelope gets an envelope.</summary>
public enum RequestFormat
{
    PlainText,
    Envelope,
}

/// <summary>Where a request's prompt may go (docs/design.md §3).</summary>
public enum Privacy
{
    /// <summary>Any tier, third-party endpoints included.</summary>
    Any,

    /// <summary>Tiers of the fleet, never a third-party endpoint.</summary>
    Fleet,

    /// <summary>Never leaves the node.</summary>
    Local,
}

/// <summary>A parsed, valid request: a prompt and its requirements (docs/design.md §3). Unset requirements are null.</summary>
public sealed record Request
{
    public required string Prompt { get; init; }

    public RequestFormat Format { get; init; }

    /// <summary>The requester's id (at most 128 characters), echoed in the answer and used to answer a repeat once.</summary>
    public string? Id { get; init; }

    public string? System { get; init; }

    public string? Domain { get; init; }

    public string? Subdomain { get; init; }

    public int? MaxTokens { get; init; }

    public float? Temperature { get; init; }

    public int? MaxLatencyMs { get; init; }

    public double? MinQuality { get; init; }

    public double? MaxCost { get; init; }

    public Privacy Privacy { get; init; }
}
