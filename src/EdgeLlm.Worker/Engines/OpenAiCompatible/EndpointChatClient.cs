using System.ClientModel;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.AI;

namespace EdgeLlm.Worker.Engines.OpenAiCompatible;

/// <summary>
/// The endpoint's chat client held to EdgeLlm's rules: it stops at the request's deadline (reporting
/// <see cref="ChatDeadline.FinishReason"/>), sends the server none of EdgeLlm's own options, and turns a
/// server that cannot be reached or refuses the call into <see cref="EngineUnavailableException"/>.
/// </summary>
internal sealed class EndpointChatClient(IChatClient inner, OpenAiOptions endpoint, TimeProvider time) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var deadline = ChatDeadline.Of(options);
        var sent = options?.Clone();
        sent?.AdditionalProperties?.Remove(ChatDeadline.Property);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (deadline is DateTimeOffset at)
        {
            var left = at - time.GetUtcNow();
            limit.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        try
        {
            return await base.GetResponseAsync(messages, sent, limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new ChatResponse([]) { FinishReason = ChatDeadline.FinishReason };
        }
        catch (ClientResultException e)
        {
            throw new EngineUnavailableException($"{endpoint.Endpoint} answered {(e.Status > 0 ? $"HTTP {e.Status}" : "nothing")}: {e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineUnavailableException($"{endpoint.Endpoint} could not be reached within {endpoint.TimeoutMs} ms: {e.Message}", e);
        }
    }
}
