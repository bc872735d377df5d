using System.Text;

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

/// <summary>One message of a chat, as the OpenAI chat API has them (docs/design.md §3a).</summary>
/// <param name="Role">"system", "user" or "assistant".</param>
public sealed record ChatTurn(string Role, string Content)
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    public static bool IsRole(string? role) => role is System or User or Assistant;
}

/// <summary>
/// A parsed, valid request: a prompt, or chat messages with the prompt as one more user turn, and its
/// requirements (docs/design.md §3, §3a). Unset requirements are null.
/// </summary>
public sealed record Request
{
    /// <summary>The new user turn; null when the messages end with it.</summary>
    public string? Prompt { get; init; }

    /// <summary>The chat before <see cref="Prompt"/>: the requester's messages, and a kept conversation's turns before them.</summary>
    public IReadOnlyList<ChatTurn> Messages { get; init; } = [];

    /// <summary>The chat to answer: <see cref="Messages"/>, then <see cref="Prompt"/> as a user turn.</summary>
    public IEnumerable<ChatTurn> Turns => Prompt is string prompt ? Messages.Append(new ChatTurn(ChatTurn.User, prompt)) : Messages;

    /// <summary>What the request asks now: its last user turn (what the recommender classifies).</summary>
    public string LastUserText => Turns.LastOrDefault(t => t.Role == ChatTurn.User)?.Content ?? Turns.LastOrDefault()?.Content ?? "";

    /// <summary>The UTF-8 bytes of everything the model reads: the system text and every turn.</summary>
    public int ContentBytes => (System is null ? 0 : Encoding.UTF8.GetByteCount(System)) + Turns.Sum(t => Encoding.UTF8.GetByteCount(t.Content));

    /// <summary>Chunks of the answer are sent as they are written (docs/design.md §3a).</summary>
    public bool Stream { get; init; }

    /// <summary>The id of a conversation whose turns the node keeps; null when the requester sends them itself.</summary>
    public string? Conversation { get; init; }

    /// <summary>How many of <see cref="Messages"/>' first entries are the node's kept turns, which an engine may drop (the oldest first) to fit its context.</summary>
    public int KeptMessages { get; init; }

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
