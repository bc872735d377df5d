using EdgeLlm.Core.Replies;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>Sends each reply to its route, counted (for the status advertisement) and logged on its way.</summary>
internal sealed class ReplySender(NodeCounters counters, ILogger logger)
{
    public ValueTask SendAsync(IReplyTarget replyTo, Reply reply, CancellationToken cancellationToken)
    {
        counters.Count(reply);
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
