using System.ClientModel;
using System.Runtime.CompilerServices;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.AI;

namespace EdgeLlm.Worker.Engines.OpenAiCompatible;

/// <summary>
/// The endpoint's chat client held to EdgeLlm's rules: it stops at the request's deadline (reporting
/// <see cref="ChatDeadline.FinishReason"/>), sends the server none of EdgeLlm's own options, and turns a
/// server that cannot be reached or refuses the call into <see cref="EngineUnavailableException"/>. It asks the
/// server to stream (server-sent events), whole answers too.
/// </summary>
internal sealed class EndpointChatClient(IChatClient inner, OpenAiOptions endpoint, TimeProvider time) : DelegatingChatClient(inner)
{
    // One path for both: the node reads every engine as a stream, and the deadline and the server's failures
    // are handled there once.
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var limit = Limit(options, cancellationToken);
        var updates = base.GetStreamingResponseAsync(messages, ForServer(options), limit.Token).GetAsyncEnumerator(limit.Token);
        await using (updates.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await updates.MoveNextAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (Unavailable(e, cancellationToken) is { } unavailable)
                {
                    throw unavailable;
                }

                if (!more)
                {
                    yield break;
                }

                yield return updates.Current;
            }
        }

        // Only the deadline ends the loop early: what was written stands, and the reason says why it ended.
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatDeadline.FinishReason };
    }

    // The caller's token, and the request's deadline as a timer.
    private CancellationTokenSource Limit(ChatOptions? options, CancellationToken cancellationToken)
    {
        var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (ChatDeadline.Of(options) is DateTimeOffset at)
        {
            var left = at - time.GetUtcNow();
            limit.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        return limit;
    }

    // The server hears none of EdgeLlm's own properties.
    private static ChatOptions? ForServer(ChatOptions? options)
    {
        var sent = options?.Clone();
        sent?.AdditionalProperties?.Remove(ChatDeadline.Property);
        sent?.AdditionalProperties?.Remove(EngineProperties.DroppableMessages);
        return sent;
    }

    private EngineUnavailableException? Unavailable(Exception e, CancellationToken cancellationToken) => e switch
    {
        ClientResultException refused => new EngineUnavailableException($"{endpoint.Endpoint} answered {(refused.Status > 0 ? $"HTTP {refused.Status}" : "nothing")}: {refused.Message}", refused),
        HttpRequestException or TimeoutException or OperationCanceledException when !cancellationToken.IsCancellationRequested =>
            new EngineUnavailableException($"{endpoint.Endpoint} could not be reached within {endpoint.TimeoutMs} ms: {e.Message}", e),
        // The client's own retries give up with every try's failure together (a server that is down: connection refused).
        AggregateException tries when tries.InnerExceptions.Count > 0 && tries.InnerExceptions.All(inner => Unavailable(inner, cancellationToken) is not null) =>
            new EngineUnavailableException($"{endpoint.Endpoint} could not be reached in {tries.InnerExceptions.Count} tries: {tries.InnerExceptions[^1].Message}", tries),
        _ => null,
    };
}
