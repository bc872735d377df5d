using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>Where a request's reply goes: the requester's MQTT topic, a button's LED, a console.</summary>
public interface IReplyTarget
{
    /// <summary>Names the route back to the requester, so that a repeated id is told apart from another requester's.</summary>
    string Key { get; }

    /// <summary>Sends the reply. A transport that is down keeps it until it is up again; this never throws for that.</summary>
    ValueTask SendAsync(Reply reply, CancellationToken cancellationToken);

    /// <summary>
    /// Sends a chunk of a streamed answer, in order with the replies, without waiting for it to arrive. The task
    /// completes false when the route is known to have nobody at its end any more (the requester's session
    /// gone), true otherwise; a route that cannot tell says true. A route that cannot stream sends nothing.
    /// </summary>
    Task<bool> SendChunkAsync(Chunk chunk);
}
