using Microsoft.Extensions.AI;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// What EdgeLlm's engines and the pipeline tell each other through <see cref="IChatClient"/>'s
/// AdditionalProperties, which it has no words of its own for (as <see cref="ChatDeadline"/> does for the deadline).
/// </summary>
public static class EngineProperties
{
    /// <summary>On <see cref="ChatOptions"/>: how many leading messages (after the instructions) the engine may leave out, the oldest first, to fit its context (an int).</summary>
    public const string DroppableMessages = "edgellm.droppableMessages";

    /// <summary>On an update without text: the share of the prompt read so far (a double from 0 to 1).</summary>
    public const string PrefillProgress = "edgellm.prefillProgress";

    /// <summary>On the last update: prompt tokens whose KV cache was reused (an int).</summary>
    public const string CachedPromptTokens = "edgellm.cachedPromptTokens";

    /// <summary>On the last update: how many leading messages were left out to fit the context (an int).</summary>
    public const string DroppedMessages = "edgellm.droppedMessages";

    public static T? Get<T>(AdditionalPropertiesDictionary? properties, string name) where T : struct =>
        properties?.TryGetValue(name, out T value) is true ? value : null;
}
