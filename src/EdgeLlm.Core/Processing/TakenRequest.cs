using System.Diagnostics;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// The route back to a request the node has taken, until its one final reply: the request can be cancelled
/// by id meanwhile, and its final reply keeps the conversation's turn (when it names one), ends its span and
/// releases it.
/// </summary>
internal sealed class TakenRequest(IReplyTarget inner, CancellableRequests.Registration? cancel, ConversationStore conversations, Request original, ConversationTurn? turn, Activity? span) : IReplyTarget
{
    /// <summary>Cancelled by a cancel naming the request's id; never for a request without one.</summary>
    public CancellationToken Cancelled { get; } = cancel?.Token ?? CancellationToken.None;

    /// <summary>The request's span, ended with its final reply; null when nobody listens to the node's spans.</summary>
    public Activity? Span { get; } = span;

    public string Key => inner.Key;

    public Task<bool> SendChunkAsync(Chunk chunk) => inner.SendChunkAsync(chunk);

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        cancel?.Dispose();
        if (Span is not null)
        {
            if (reply.ErrorCode is ErrorCode code)
            {
                Span.SetStatus(ActivityStatusCode.Error, code.ToWireName());
                Span.SetTag("error.type", code.ToWireName());
            }

            Span.Dispose();
        }

        return inner.SendAsync(turn is null ? reply : conversations.Record(original, turn, reply), cancellationToken);
    }
}
