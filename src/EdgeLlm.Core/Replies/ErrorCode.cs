namespace EdgeLlm.Core.Replies;

/// <summary>Why a request got an error reply (docs/design.md §3).</summary>
public enum ErrorCode
{
    BadRequest,
    TooLarge,
    Busy,
    Timeout,
    NoModel,
    UpstreamUnavailable,
    RejectedPrivacy,
    Internal,

    /// <summary>A node command from a sender the configuration does not allow.</summary>
    Forbidden,
}

public static class ErrorCodeNames
{
    public static IReadOnlyList<ErrorCode> All { get; } = Enum.GetValues<ErrorCode>();

    /// <summary>The code as it goes on the wire, e.g. "bad-request".</summary>
    public static string ToWireName(this ErrorCode code) => code switch
    {
        ErrorCode.BadRequest => "bad-request",
        ErrorCode.TooLarge => "too-large",
        ErrorCode.Busy => "busy",
        ErrorCode.Timeout => "timeout",
        ErrorCode.NoModel => "no-model",
        ErrorCode.UpstreamUnavailable => "upstream-unavailable",
        ErrorCode.RejectedPrivacy => "rejected-privacy",
        ErrorCode.Internal => "internal",
        ErrorCode.Forbidden => "forbidden",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };

    public static bool TryParse(string? wireName, out ErrorCode code)
    {
        foreach (var candidate in All)
        {
            if (candidate.ToWireName() == wireName)
            {
                code = candidate;
                return true;
            }
        }

        code = default;
        return false;
    }
}
