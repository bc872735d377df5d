using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>Where a request's reply goes: the requester's MQTT topic, a button's LED, a console.</summary>
public interface IReplyTarget
{
    /// <summary>Names the route back to the requester, so that a repeated id is told apart from another requester's.</summary>
    string Key { get; }

    /// <summary>Sends the reply. A transport that is down keeps it until it is up again; this never throws for that.</summary>
    ValueTask SendAsync(Reply reply, CancellationToken cancellationToken);
}
