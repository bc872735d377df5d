using System.Diagnostics;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// What the recommender sends up a tier (docs/design.md §4): relayed through the <see cref="IEscalator"/> off
/// the queue, the upstream's reply passed on with this node's route, and, when the upstream is silent, the
/// fallback policy: an error, or a degraded answer from a model on the board (queued like any other).
/// </summary>
internal sealed class Escalation(
    IEscalator? escalator,
    UpstreamOptions upstream,
    NodeOptions node,
    StreamingOptions streaming,
    RequestRouter router,
    AdmissionQueue queue,
    BackgroundRequests inFlight,
    ReplySender replies,
    NodeMetrics metrics,
    PipelineShutdown shutdown,
    TimeProvider time,
    ILogger logger)
{
    public int InFlight => inFlight.Count;

    /// <summary>Starts relaying the request; the failure to answer at once when it cannot go up.</summary>
    public Failure? TryStart(Submission submission, Decision decision)
    {
        var request = submission.Request;
        if (escalator is null || upstream.Tier is not int tier)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"tier {decision.Tier} would answer it ({string.Join(", ", decision.Reasons)}), but this node has no upstream");
        }

        if (!HopRules.MaySendOn(submission.Path, upstream.MaxHops))
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"tier {tier} would answer it, but sending it on would take it past Upstream:MaxHops ({upstream.MaxHops})");
        }

        if (inFlight.TryStart(() => RelayAsync(submission, decision, escalator, tier)))
        {
            metrics.Escalated(tier);
            return null;
        }

        return new Failure(request.Id, ErrorCode.Busy, $"{upstream.MaxInFlight} escalated requests already await their upstream (Upstream:MaxInFlight)");
    }

    // The upstream's reply (and a streamed request's chunks) passed on with this node's route, else the
    // fallback policy's: a local answer only while nothing of the upstream's reached the requester.
    private async Task RelayAsync(Submission submission, Decision decision, IEscalator escalator, int tier)
    {
        var request = submission.Request;
        var sentAt = time.GetUtcNow();
        var giveUpAt = GiveUpAt(submission, sentAt);
        using var stream = request.Stream ? new ChunkStream(submission.ReplyTo, request.Id, streaming, time) : null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(submission.Cancelled, stream?.RequesterGone ?? CancellationToken.None);
        // Current while the request goes up: the escalator sends its context with it, and the upper tier's spans hang under it.
        using var span = NodeTracing.Source.StartActivity("edgellm.relay", ActivityKind.Client, submission.TraceContext);
        span?.SetTag("edgellm.upstream.tier", tier);
        Reply? reply;
        try
        {
            var watch = new EscalationWatch(stream is null ? null : stream.Relay, stop.Token);
            var answer = await escalator.EscalateAsync(request, [.. submission.Path, node.Id], giveUpAt, watch, shutdown.Abort).ConfigureAwait(false);
            string silence = $"tier {tier} did not answer within {(giveUpAt - sentAt).TotalMilliseconds:F0} ms";
            reply = answer is not null ? new Relayed(request.Id, answer.Envelope, answer.Error, new Route(Relayed.Decision, decision.Reasons, decision.Predicted, decision.Degraded))
                : stop.IsCancellationRequested ? CancelledUnconfirmed(submission, decision, tier, stream)
                : stream?.Sent > 0 ? new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"{silence}, after {stream.Sent} chunks of its answer")
                : FallBack(submission, silence);
        }
        catch (OperationCanceledException) when (shutdown.Aborted)
        {
            reply = new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the upstream answered");
        }
        catch (Exception e)
        {
            Log.EscalationFailed(logger, e, request.Id ?? "(no id)");
            reply = new Failure(request.Id, ErrorCode.Internal, $"escalation failed: {e.Message}");
        }

        // Null: the local fallback was queued and answers for itself.
        if (reply is not null)
        {
            await replies.SendAsync(submission, stream is null ? reply : reply with { Chunks = stream.Complete() }, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The requester cancelled (or went) and the upstream did not confirm in time: what was relayed stands.
    private Answer CancelledUnconfirmed(Submission submission, Decision decision, int tier, ChunkStream? stream) => new(
        submission.Request.Id,
        stream?.Text ?? "",
        Answer.Cancelled,
        node.Id,
        tier,
        decision.Model ?? "",
        new Route(Relayed.Decision, decision.Reasons, decision.Predicted, decision.Degraded),
        new Usage(0, 0),
        (long)(time.GetUtcNow() - submission.ReceivedAt).TotalMilliseconds);

    private DateTimeOffset GiveUpAt(Submission submission, DateTimeOffset now)
    {
        var local = upstream.Fallback == UpstreamOptions.DegradedLocal && submission.Deadline is not null
            ? router.RouteLocally(submission.Request, queue.Depth)
            : null;
        return UpstreamBudget.GiveUpAt(now, submission.Deadline, upstream.TimeoutMs, (local?.Outcome == RouteOutcome.Local, local?.Predicted.LatencyMs));
    }

    // The policy for a silent upstream: an error, or the best model on the board, marked degraded (queued; null then).
    private Failure? FallBack(Submission submission, string silence)
    {
        Log.UpstreamSilent(logger, submission.Request.Id ?? "(no id)", silence, upstream.Fallback);
        var failure = DegradeOrFail(submission, silence);
        metrics.FellBack(failure is null ? UpstreamOptions.DegradedLocal : ErrorCode.UpstreamUnavailable.ToWireName());
        return failure;
    }

    private Failure? DegradeOrFail(Submission submission, string silence)
    {
        var request = submission.Request;
        if (upstream.Fallback == UpstreamOptions.Error)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, silence);
        }

        var local = router.RouteLocally(request, queue.Depth);
        if (local.Outcome != RouteOutcome.Local)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"{silence}, and {DecisionText.WhyNot(local, queue.Capacity)}");
        }

        var degraded = local with { Degraded = true, Reasons = [.. local.Reasons.Where(r => r != Reasons.FitsLocal).Append(Reasons.NoUpstream).Distinct()] };
        return queue.TryAdmit(submission, degraded)
            ? null
            : new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"{silence}, and the local queue is full");
    }
}
