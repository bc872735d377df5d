namespace EdgeLlm.Core.Processing;

/// <summary>What the node is doing now, for its status lights.</summary>
/// <param name="Generating">A request is running on the local model.</param>
/// <param name="Queued">Requests waiting for the local model.</param>
/// <param name="Escalated">Requests an upper tier is answering.</param>
/// <param name="AwaitingPull">Requests waiting for their model to be pulled.</param>
/// <param name="Errors">Error replies sent since start.</param>
public sealed record NodeActivity(bool Generating, int Queued, int Escalated, int AwaitingPull, long Errors);

/// <summary>The request pipeline's door and state, as the node's inputs (MQTT, buttons) and outputs (status, LEDs) see them.</summary>
public interface INodePipeline
{
    NodeActivity Activity { get; }

    /// <summary>Takes a request, or answers it at once when it cannot be taken (busy, no model, expired, shutting down).</summary>
    ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken);

    /// <summary>Answers a message that is not a valid request with its failure, counted and logged like any reply.</summary>
    ValueTask RejectAsync(Replies.Failure failure, IReplyTarget replyTo, CancellationToken cancellationToken);

    /// <summary>Cancels the requests taken under <paramref name="id"/> (docs/design.md §3a); how many there were.</summary>
    int Cancel(string id);
}

/// <summary>Reply routes to topics of the node's own (e.g. {prefix}/node/{nodeId}/button/17), for requests that come from the board itself.</summary>
public interface INodeTopics
{
    /// <summary>The full topic for <paramref name="relative"/> under the node's own topics.</summary>
    string NodeTopic(string relative);

    /// <summary>A reply route that publishes to <paramref name="topic"/>.</summary>
    IReplyTarget PublishTo(string topic, Requests.RequestFormat format);
}
