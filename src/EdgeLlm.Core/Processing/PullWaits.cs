using System.Globalization;
using System.Threading.Channels;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// Requests whose model is being pulled: held off the queue (so that a pull never holds up the model's
/// runner) until it is on the board, then queued; within their deadline. A pull that fails sends them the
/// way they can still go, waiting for another pull only when there is no other way.
/// </summary>
internal sealed class PullWaits(
    IModelAcquisition? acquisition,
    AdmissionOptions admission,
    RequestRouter router,
    AdmissionQueue queue,
    Escalation escalation,
    BackgroundRequests waiting,
    ReplySender replies,
    PipelineShutdown shutdown,
    TimeProvider time,
    ILogger logger)
{
    public int Waiting => waiting.Count;

    /// <summary>Starts the wait for <paramref name="model"/>; the failure to answer at once when the request cannot wait.</summary>
    public Failure? TryStart(Submission submission, Decision decision, string model)
    {
        var request = submission.Request;
        if (acquisition is null)
        {
            return new Failure(request.Id, ErrorCode.NoModel, $"{model} is not on this board, and this node pulls no models");
        }

        return waiting.TryStart(() => AwaitPullAsync(submission, decision, model, acquisition))
            ? null
            : new Failure(request.Id, ErrorCode.Busy, $"{admission.MaxAwaitingPull} requests already wait for models being pulled (Admission:MaxAwaitingPull)");
    }

    // Queues the request once its model is on the board (waiting for room in the queue), within its deadline.
    private async Task AwaitPullAsync(Submission submission, Decision decision, string model, IModelAcquisition store)
    {
        var request = submission.Request;
        var left = submission.Deadline is DateTimeOffset deadline ? deadline - time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        using var byDeadline = new CancellationTokenSource(left > TimeSpan.Zero || left == Timeout.InfiniteTimeSpan ? left : TimeSpan.Zero, time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Abort, byDeadline.Token, submission.Cancelled);

        Failure? failure;
        try
        {
            // The decided model, then at most one other: Reroute offers another pull only once.
            for (bool mayPullAgain = true; ; mayPullAgain = false)
            {
                try
                {
                    await store.EnsurePresentAsync(model, limit.Token).ConfigureAwait(false);
                    await queue.AdmitAsync(submission, decision, limit.Token).ConfigureAwait(false);
                    return;
                }
                catch (ModelUnavailableException e)
                {
                    if (shutdown.Closed)
                    {
                        failure = new Failure(request.Id, ErrorCode.Timeout, $"the node shut down while {model} was pulled ({e.Message})");
                        break;
                    }

                    decision = Reroute(request, model, e.Message, mayPullAgain);
                    switch (decision)
                    {
                        case { Outcome: RouteOutcome.Local, Acquire: string other }:
                            model = other;
                            continue;
                        case { Outcome: RouteOutcome.Local }:
                            await queue.AdmitAsync(submission, decision, limit.Token).ConfigureAwait(false);
                            return;
                        case { Outcome: RouteOutcome.Escalate }:
                            failure = escalation.TryStart(submission, decision);
                            break;
                        default:
                            failure = new Failure(request.Id, ErrorCode.NoModel, $"{e.Message}; and {DecisionText.WhyNot(decision, queue.Capacity)}");
                            break;
                    }

                    break;
                }
            }

            if (failure is null)
            {
                return;
            }
        }
        catch (Exception e) when (e is ChannelClosedException || (e is OperationCanceledException && shutdown.Aborted))
        {
            failure = new Failure(request.Id, ErrorCode.Timeout, $"the node shut down while {model} was pulled");
        }
        catch (OperationCanceledException) when (submission.Cancelled.IsCancellationRequested)
        {
            // The runner answers a cancelled request at once, "cancelled", without touching the model.
            failure = queue.TryAdmit(submission, decision) ? null : new Failure(request.Id, ErrorCode.Busy, $"cancelled while {model} was pulled, and the queue is full");
        }
        catch (OperationCanceledException)
        {
            failure = new Failure(request.Id, ErrorCode.Timeout, $"{model} was not ready within the deadline ({request.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "message expiry"} ms); its pull goes on");
        }

        if (failure is not null)
        {
            await replies.SendAsync(submission, failure, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The pull failed: the request is routed again with only what is on the board (not waiting for another
    // pull, which would likely fail the same way): a model here answers, degraded if it falls short, or an
    // upstream takes it. Only when neither can, and once, another pull is offered, of a model whose sources
    // have not failed (a fresh board without internet whose hub is unreachable still has the copy shipped
    // beside the catalog).
    private Decision Reroute(Request request, string model, string problem, bool mayPullAgain)
    {
        var routed = router.RouteWithoutPulls(request, queue.Depth);
        if (mayPullAgain && routed.Outcome is not (RouteOutcome.Local or RouteOutcome.Escalate) && router.Route(request, queue.Depth) is { Acquire: string another } withPull && another != model)
        {
            routed = withPull;
        }

        var again = routed with { Reasons = [.. routed.Reasons.Append(Reasons.AcquireFailed).Distinct()] };
        Log.Rerouted(logger, request.Id ?? "(no id)", model, problem, again.OutcomeName, again.Model ?? "-");
        return again;
    }
}
