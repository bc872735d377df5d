using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>Sends each reply to its route, counted (for the status advertisement), measured and logged on its way.</summary>
internal sealed class ReplySender(NodeCounters counters, NodeMetrics metrics, TimeProvider time, ILogger logger)
{
    /// <summary>The final reply of a request the node took, measured from its arrival.</summary>
    public ValueTask SendAsync(Submission submission, Reply reply, CancellationToken cancellationToken) =>
        Send(submission.ReplyTo, reply, time.GetUtcNow() - submission.ReceivedAt, cancellationToken);

    /// <summary>The reply to a message that is not a request.</summary>
    public ValueTask SendAsync(IReplyTarget replyTo, Failure failure, CancellationToken cancellationToken) =>
        Send(replyTo, failure, duration: null, cancellationToken);

    private ValueTask Send(IReplyTarget replyTo, Reply reply, TimeSpan? duration, CancellationToken cancellationToken)
    {
        counters.Count(reply, time.GetUtcNow(), duration);
        metrics.Replied(reply, duration);
        switch (reply)
        {
            case Failure failure:
                Log.Failed(logger, failure.RequestId ?? "(no id)", failure.Code.ToWireName(), failure.Message);
                break;
            case Answer answer:
                Log.Answered(logger, answer.RequestId ?? "(no id)", answer.Model, answer.Usage.CompletionTokens, answer.LatencyMs);
                break;
            case Relayed relayed:
                Log.Relayed(logger, relayed.RequestId ?? "(no id)", relayed.Error?.ToWireName() ?? "answer");
                break;
        }

        return replyTo.SendAsync(reply, cancellationToken);
    }
}
