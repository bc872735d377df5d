using Microsoft.Extensions.AI;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// How a deadline travels through <see cref="IChatClient"/>, which has none of its own: as a
/// <see cref="DateTimeOffset"/> under <see cref="Property"/> in <see cref="ChatOptions.AdditionalProperties"/>.
/// An engine that stops at it reports <see cref="FinishReason"/>.
/// </summary>
public static class ChatDeadline
{
    public const string Property = "edgellm.deadline";

    public static readonly ChatFinishReason FinishReason = new("deadline");

    public static DateTimeOffset? Of(ChatOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Property, out DateTimeOffset deadline) is true ? deadline : null;
}
