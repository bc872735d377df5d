using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// Admission and execution (docs/design.md §2, §4): a bounded queue that says busy when full, requests run one at
/// a time on the local model, what the recommender sends up a tier relayed through the
/// <see cref="IEscalator"/> (with the fallback policy when the upstream is silent), requests for a model
/// being pulled held outside the queue until it is here, every accepted request answered exactly once. On shutdown no request is taken, what was taken runs on for the grace period, and
/// whatever is left is answered timeout.
/// </summary>
public sealed partial class RequestPipeline : BackgroundService, INodePipeline
{
    private const int RememberedIds = 10_000;

    private readonly IModelProvider _models;
    private readonly RequestRouter _router;
    private readonly NodeCounters _counters;
    private readonly AdmissionOptions _admission;
    private readonly NodeOptions _node;
    private readonly UpstreamOptions _upstream;
    private readonly IEscalator? _escalator;
    private readonly IModelAcquisition? _acquisition;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestPipeline> _logger;
    private readonly Channel<Admitted> _queue;
    private readonly RecentRequestIds _recentIds;
    private readonly CancellationTokenSource _abort;
    // Requests answered off the queue: escalations, and requests waiting for their model to be pulled.
    private readonly ConcurrentDictionary<long, Task> _detached = new();
    private long _detachedCount;
    private volatile bool _generating;
    private readonly Slots _escalating;
    private readonly Slots _awaitingPull;
    private volatile bool _closed;

    /// <param name="escalator">The way up a tier; without one (no transport for it) nothing is escalated.</param>
    /// <param name="acquisition">The model store; without one nothing is pulled on demand.</param>
    public RequestPipeline(
        IModelProvider models,
        RequestRouter router,
        NodeCounters counters,
        IOptions<AdmissionOptions> admission,
        IOptions<NodeOptions> node,
        IOptions<UpstreamOptions> upstream,
        TimeProvider time,
        ILogger<RequestPipeline> logger,
        IEscalator? escalator = null,
        IModelAcquisition? acquisition = null)
    {
        _models = models;
        _router = router;
        _counters = counters;
        _admission = admission.Value;
        _node = node.Value;
        _upstream = upstream.Value;
        _escalator = escalator;
        _acquisition = acquisition;
        _time = time;
        _logger = logger;
        _escalating = new Slots(_upstream.MaxInFlight);
        _awaitingPull = new Slots(_admission.MaxAwaitingPull);
        _queue = Channel.CreateBounded<Admitted>(new BoundedChannelOptions(_admission.QueueCapacity) { SingleReader = true });
        _recentIds = new RecentRequestIds(TimeSpan.FromSeconds(_admission.DuplicateWindowSeconds), RememberedIds, time);
        _abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
    }

    /// <summary>Requests waiting to run.</summary>
    public int QueueDepth => _queue.Reader.Count;

    public NodeActivity Activity => new(_generating, QueueDepth, _escalating.Taken, _awaitingPull.Taken, _counters.TotalErrors);

    /// <summary>Takes a request, or answers it at once when it cannot be taken.</summary>
    public async ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken)
    {
        var request = submission.Request;
        if (request.Id is string id && !_recentIds.TryRegister($"{submission.ReplyTo.Key}\n{id}"))
        {
            Log.Duplicate(_logger, id);
            return SubmitOutcome.Duplicate;
        }

        // The hop rules come first: a request in a loop, or one that went too far, is never run or sent on.
        string? hopRuleBroken = HopRuleBroken(submission.Path);
        var decision = _closed || hopRuleBroken is not null ? null : _router.Route(request, QueueDepth);
        if (decision is { Outcome: not RouteOutcome.Local, Acquire: string wanted } && _acquisition is not null)
        {
            _acquisition.StartPull(wanted);
        }

        if (decision is not null)
        {
            Log.Routed(_logger, request.Id ?? "(no id)", decision.OutcomeName, decision.Model ?? "-", decision.Tier?.ToString(CultureInfo.InvariantCulture) ?? "-", decision.Domain, string.Join(",", decision.Reasons),
                decision.Predicted.LatencyMs is double ms ? $"{ms.ToString(CultureInfo.InvariantCulture)} ms" : "unknown");
        }

        Failure? refusal =
            hopRuleBroken is not null ? new Failure(request.Id, ErrorCode.UpstreamUnavailable, hopRuleBroken)
            : decision is null ? new Failure(request.Id, ErrorCode.Busy, "the node is shutting down")
            : decision.Outcome == RouteOutcome.Reject ? new Failure(request.Id, decision.RejectCode ?? ErrorCode.NoModel, Describe(decision))
            : submission.Deadline <= _time.GetUtcNow() ? new Failure(request.Id, ErrorCode.Timeout, "the request expired before it arrived")
            : decision.Outcome == RouteOutcome.Escalate ? TryEscalate(submission, decision)
            : decision.Acquire is string model ? TryAwaitPull(submission, decision, model)
            : !_queue.Writer.TryWrite(new Admitted(submission, decision)) ? new Failure(request.Id, ErrorCode.Busy, $"the queue is full ({_admission.QueueCapacity} requests waiting)")
            : null;

        if (refusal is null)
        {
            return decision!.Outcome == RouteOutcome.Escalate ? SubmitOutcome.Escalated : SubmitOutcome.Queued;
        }

        await SendAsync(submission.ReplyTo, refusal, cancellationToken).ConfigureAwait(false);
        return SubmitOutcome.Refused;
    }

    /// <summary>Answers a message that is not a valid request with its failure, counted and logged like any reply.</summary>
    public ValueTask RejectAsync(Failure failure, IReplyTarget replyTo, CancellationToken cancellationToken) =>
        SendAsync(replyTo, failure, cancellationToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _closed = true;
        _abort.CancelAfter(TimeSpan.FromSeconds(_admission.ShutdownGraceSeconds));
        // Past the host's own shutdown timeout nothing may run on: abort at once.
        using var hostGaveUp = cancellationToken.Register(_abort.Cancel);
        // Escalations and waits for a pull end first: their fallbacks and requests may still need the queue.
        await Task.WhenAll(_detached.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        _queue.Writer.TryComplete();
        if (ExecuteTask is not null)
        {
            await ExecuteTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    // Runs until the queue is closed and drained; stopping is StopAsync's business, not the token's.
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (submission, decision) in _queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            _generating = true;
            var reply = await RunAsync(submission, decision).ConfigureAwait(false);
            _generating = false;
            await SendAsync(submission.ReplyTo, reply, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<Reply> RunAsync(Submission submission, Decision decision)
    {
        var request = submission.Request;
        var now = _time.GetUtcNow();
        if (_abort.IsCancellationRequested)
        {
            return new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the request ran");
        }

        if (submission.Deadline <= now)
        {
            return new Failure(request.Id, ErrorCode.Timeout, $"the request expired after {(now - submission.ReceivedAt).TotalMilliseconds:F0} ms in the queue");
        }

        try
        {
            using var model = await _models.GetAsync(decision.Model ?? "", _abort.Token).ConfigureAwait(false);
            if (model is null)
            {
                return new Failure(request.Id, ErrorCode.NoModel, $"this node has no model {decision.Model} to answer with");
            }

            var options = new ChatOptions
            {
                MaxOutputTokens = request.MaxTokens ?? _admission.DefaultMaxTokens,
                Temperature = request.Temperature,
                Instructions = request.System,
            };
            if (submission.Deadline is DateTimeOffset deadline)
            {
                options.AdditionalProperties = new() { [ChatDeadline.Property] = deadline };
            }

            var response = await model.Client.GetResponseAsync([new ChatMessage(ChatRole.User, request.Prompt)], options, _abort.Token).ConfigureAwait(false);
            if (response.FinishReason == ChatDeadline.FinishReason)
            {
                return new Failure(request.Id, ErrorCode.Timeout, $"no answer within the deadline ({request.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "message expiry"} ms)");
            }

            return new Answer(
                request.Id,
                response.Text,
                response.FinishReason == ChatFinishReason.Length ? "length" : "stop",
                _node.Id,
                _node.Tier,
                model.Id,
                new Route("local", decision.Reasons, decision.Predicted, decision.Degraded),
                new Usage((int)(response.Usage?.InputTokenCount ?? 0), (int)(response.Usage?.OutputTokenCount ?? 0)),
                (long)(_time.GetUtcNow() - submission.ReceivedAt).TotalMilliseconds);
        }
        catch (PromptTooLongException e)
        {
            return new Failure(request.Id, ErrorCode.TooLarge, e.Message);
        }
        catch (EngineUnavailableException e)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, e.Message);
        }
        catch (ModelUnavailableException e)
        {
            return new Failure(request.Id, ErrorCode.NoModel, e.Message);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            return new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the answer was complete");
        }
        catch (Exception e)
        {
            Log.RunFailed(_logger, e, request.Id ?? "(no id)");
            return new Failure(request.Id, ErrorCode.Internal, $"the model failed: {e.Message}");
        }
    }

    // docs/design.md §4's hop rules for a request that arrived through other nodes; null when it may go on.
    private string? HopRuleBroken(IReadOnlyList<string> path) =>
        path.Contains(_node.Id, StringComparer.Ordinal) ? $"escalation loop: the request went {string.Join(" > ", path)} and came back to {_node.Id}"
        : path.Count > _upstream.MaxHops ? $"the request took {path.Count} hops ({string.Join(" > ", path)}), more than Upstream:MaxHops ({_upstream.MaxHops})"
        : null;

    // Starts relaying the request to the upstream tier; the failure to answer at once when it cannot go.
    private Failure? TryEscalate(Submission submission, Decision decision)
    {
        var request = submission.Request;
        if (_escalator is null || _upstream.Tier is not int tier)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"tier {decision.Tier} would answer it ({string.Join(", ", decision.Reasons)}), but this node has no upstream");
        }

        if (submission.Path.Count + 1 > _upstream.MaxHops)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"tier {tier} would answer it, but sending it on would take it past Upstream:MaxHops ({_upstream.MaxHops})");
        }

        if (!_escalating.TryTake())
        {
            return new Failure(request.Id, ErrorCode.Busy, $"{_upstream.MaxInFlight} escalated requests already await their upstream (Upstream:MaxInFlight)");
        }

        var escalator = _escalator;
        Detach(() => RelayAsync(submission, decision, escalator, tier), _escalating);
        return null;
    }

    // Holds the request off the queue until its model has been pulled; the failure to answer at once when it cannot wait.
    private Failure? TryAwaitPull(Submission submission, Decision decision, string model)
    {
        var request = submission.Request;
        if (_acquisition is null)
        {
            return new Failure(request.Id, ErrorCode.NoModel, $"{model} is not on this board, and this node pulls no models");
        }

        if (!_awaitingPull.TryTake())
        {
            return new Failure(request.Id, ErrorCode.Busy, $"{_admission.MaxAwaitingPull} requests already wait for models being pulled (Admission:MaxAwaitingPull)");
        }

        var acquisition = _acquisition;
        Detach(() => AwaitPullAsync(submission, decision, model, acquisition), _awaitingPull);
        return null;
    }

    // Queues the request once its model is on the board (waiting for room in the queue), within its deadline.
    private async Task AwaitPullAsync(Submission submission, Decision decision, string model, IModelAcquisition acquisition)
    {
        var request = submission.Request;
        var left = submission.Deadline is DateTimeOffset deadline ? deadline - _time.GetUtcNow() : Timeout.InfiniteTimeSpan;
        using var byDeadline = new CancellationTokenSource(left > TimeSpan.Zero || left == Timeout.InfiniteTimeSpan ? left : TimeSpan.Zero, _time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token, byDeadline.Token);

        Failure? failure;
        try
        {
            await acquisition.EnsurePresentAsync(model, limit.Token).ConfigureAwait(false);
            await _queue.Writer.WriteAsync(new Admitted(submission, decision), limit.Token).ConfigureAwait(false);
            return;
        }
        catch (ModelUnavailableException e)
        {
            failure = await RerouteAsync(submission, model, e.Message, limit.Token).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }
        }
        catch (Exception e) when (e is ChannelClosedException || (e is OperationCanceledException && _abort.IsCancellationRequested))
        {
            failure = new Failure(request.Id, ErrorCode.Timeout, $"the node shut down while {model} was pulled");
        }
        catch (OperationCanceledException)
        {
            failure = new Failure(request.Id, ErrorCode.Timeout, $"{model} was not ready within the deadline ({request.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "message expiry"} ms); its pull goes on");
        }

        await SendAsync(submission.ReplyTo, failure, CancellationToken.None).ConfigureAwait(false);
    }

    // The pull failed: the request is routed again with only what is on the board (never waiting for another
    // pull, which would likely fail the same way): a model here answers, degraded if it falls short, or an
    // upstream takes it. Null when it was taken; else the failure to answer with.
    private async Task<Failure?> RerouteAsync(Submission submission, string model, string problem, CancellationToken cancellationToken)
    {
        var request = submission.Request;
        if (_closed)
        {
            return new Failure(request.Id, ErrorCode.Timeout, $"the node shut down while {model} was pulled ({problem})");
        }

        var routed = _router.RouteWithoutPulls(request, QueueDepth);
        var again = routed with { Reasons = [.. routed.Reasons.Append(Reasons.AcquireFailed).Distinct()] };
        Log.Rerouted(_logger, request.Id ?? "(no id)", model, problem, again.OutcomeName, again.Model ?? "-");
        if (again.Outcome == RouteOutcome.Escalate)
        {
            return TryEscalate(submission, again);
        }

        if (again.Outcome == RouteOutcome.Local)
        {
            await _queue.Writer.WriteAsync(new Admitted(submission, again), cancellationToken).ConfigureAwait(false);
            return null;
        }

        return new Failure(request.Id, ErrorCode.NoModel, $"{problem}; and {Describe(again)}");
    }

    // Runs work off the queue in a slot taken from `slots`, tracked so that StopAsync waits for it.
    private void Detach(Func<Task> work, Slots slots)
    {
        long key = Interlocked.Increment(ref _detachedCount);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _detached[key] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            finally
            {
                slots.Give();
                _detached.TryRemove(key, out _);
                done.SetResult();
            }
        });
    }

    // The upstream's reply passed on with this node's route, else the fallback policy's.
    private async Task RelayAsync(Submission submission, Decision decision, IEscalator escalator, int tier)
    {
        var request = submission.Request;
        var sentAt = _time.GetUtcNow();
        var giveUpAt = GiveUpAt(submission, sentAt);
        Reply? reply;
        try
        {
            var upstream = await escalator.EscalateAsync(request, [.. submission.Path, _node.Id], giveUpAt, _abort.Token).ConfigureAwait(false);
            reply = upstream is null
                ? FallBack(submission, $"tier {tier} did not answer within {(giveUpAt - sentAt).TotalMilliseconds:F0} ms")
                : new Relayed(request.Id, upstream.Envelope, upstream.Error, new Route(Relayed.Decision, decision.Reasons, decision.Predicted, decision.Degraded));
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            reply = new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the upstream answered");
        }
        catch (Exception e)
        {
            Log.EscalationFailed(_logger, e, request.Id ?? "(no id)");
            reply = new Failure(request.Id, ErrorCode.Internal, $"escalation failed: {e.Message}");
        }

        // Null: the local fallback was queued and answers for itself.
        if (reply is not null)
        {
            await SendAsync(submission.ReplyTo, reply, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The upstream gets Upstream:TimeoutMs, never past the deadline, and less by what the local fallback needs
    // so that it can still answer in time: twice its predicted time (predictions from catalog rates are rough),
    // at least a tenth of the time left (for the queue and the way back), at most half of it.
    private DateTimeOffset GiveUpAt(Submission submission, DateTimeOffset now)
    {
        var byTimeout = now.AddMilliseconds(_upstream.TimeoutMs);
        if (submission.Deadline is not DateTimeOffset deadline)
        {
            return byTimeout;
        }

        var left = deadline - now;
        var reserve = TimeSpan.Zero;
        if (_upstream.Fallback == UpstreamOptions.DegradedLocal && _router.RouteLocally(submission.Request, QueueDepth) is { Outcome: RouteOutcome.Local } local)
        {
            var wanted = local.Predicted.LatencyMs is double ms ? TimeSpan.FromMilliseconds(2 * ms) : left;
            reserve = wanted < left / 10 ? left / 10 : wanted > left / 2 ? left / 2 : wanted;
        }

        var byDeadline = deadline - reserve;
        return byDeadline < byTimeout ? byDeadline : byTimeout;
    }

    // The policy for a silent upstream: an error, or the best local answer marked degraded (queued; null then).
    private Failure? FallBack(Submission submission, string silence)
    {
        var request = submission.Request;
        Log.UpstreamSilent(_logger, request.Id ?? "(no id)", silence, _upstream.Fallback);
        if (_upstream.Fallback == UpstreamOptions.Error)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, silence);
        }

        var local = _router.RouteLocally(request, QueueDepth);
        if (local.Outcome != RouteOutcome.Local)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"{silence}, and {Describe(local)}");
        }

        var degraded = local with { Degraded = true, Reasons = [.. local.Reasons.Where(r => r != Reasons.FitsLocal).Append(Reasons.NoUpstream).Distinct()] };
        return _queue.Writer.TryWrite(new Admitted(submission, degraded))
            ? null
            : new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"{silence}, and the local queue is full");
    }

    private string Describe(Decision decision)
    {
        string lead = decision.RejectCode == ErrorCode.RejectedPrivacy ? "privacy is local and no model here can answer it" : "no model can answer it now";
        return $"{lead}: {string.Join("; ", decision.Reasons.Select(Explain))}";
    }

    private string Explain(string reason) => reason switch
    {
        Reasons.Queue => $"the queue is full ({_admission.QueueCapacity} requests waiting)",
        Reasons.Thermal => "the board is too hot",
        Reasons.Power => "the board is short of power (under-voltage or a low battery)",
        Reasons.Memory => "no model fits in the memory left",
        Reasons.Domain => "no model here covers the domain",
        Reasons.Quality => "no model here reaches the quality asked for",
        Reasons.Latency => "no model here answers within the deadline",
        Reasons.Cost => "no model here is within the cost asked for",
        Reasons.Privacy => "privacy keeps it from the tiers that could",
        Reasons.NoUpstream => "no upstream is reachable",
        Reasons.NoLocalModel => "this node has no local model",
        Reasons.AcquireFailed => "the model it needed could not be pulled",
        _ => reason,
    };

    private async ValueTask SendAsync(IReplyTarget replyTo, Reply reply, CancellationToken cancellationToken)
    {
        _counters.Count(reply);
        if (reply is Failure failure)
        {
            Log.Failed(_logger, failure.RequestId ?? "(no id)", failure.Code.ToWireName(), failure.Message);
        }
        else if (reply is Answer answer)
        {
            Log.Answered(_logger, answer.RequestId ?? "(no id)", answer.Model, answer.Usage.CompletionTokens, answer.LatencyMs);
        }
        else if (reply is Relayed relayed)
        {
            Log.Relayed(_logger, relayed.RequestId ?? "(no id)", relayed.Error?.ToWireName() ?? "answer");
        }

        await replyTo.SendAsync(reply, cancellationToken).ConfigureAwait(false);
    }

    // A bounded number of requests held off the queue (escalations, waits for a pull).
    private sealed class Slots(int capacity)
    {
        private int _taken;

        public int Taken => Volatile.Read(ref _taken);

        public bool TryTake()
        {
            if (Interlocked.Increment(ref _taken) <= capacity)
            {
                return true;
            }

            Interlocked.Decrement(ref _taken);
            return false;
        }

        public void Give() => Interlocked.Decrement(ref _taken);
    }

    // A request taken into the queue, with the route the recommender chose for it.
    private sealed record Admitted(Submission Submission, Decision Decision);

    private static partial class Log
    {
        // A rejection has no model nor tier ("-"); a model without measured rates has no latency prediction ("unknown").
        [LoggerMessage(1005, LogLevel.Information, "Request {RequestId} routed {Decision} to {Model} (tier {Tier}) for domain {Domain} ({Reasons}); predicted latency {PredictedLatency}")]
        public static partial void Routed(ILogger logger, string requestId, string decision, string model, string tier, string domain, string reasons, string predictedLatency);

        [LoggerMessage(1006, LogLevel.Information, "Request {RequestId}: the upstream's {Kind} relayed")]
        public static partial void Relayed(ILogger logger, string requestId, string kind);

        [LoggerMessage(1007, LogLevel.Warning, "Request {RequestId}: {Silence}; falling back ({Policy})")]
        public static partial void UpstreamSilent(ILogger logger, string requestId, string silence, string policy);

        [LoggerMessage(1008, LogLevel.Error, "Request {RequestId} could not be escalated")]
        public static partial void EscalationFailed(ILogger logger, Exception exception, string requestId);

        [LoggerMessage(1009, LogLevel.Warning, "Request {RequestId}: {Model} could not be had ({Problem}); routed again: {Decision} to {Chosen}")]
        public static partial void Rerouted(ILogger logger, string requestId, string model, string problem, string decision, string chosen);

        [LoggerMessage(1001, LogLevel.Information, "Request {RequestId} answered by {Model}: {Tokens} tokens in {LatencyMs} ms")]
        public static partial void Answered(ILogger logger, string requestId, string model, int tokens, long latencyMs);

        [LoggerMessage(1002, LogLevel.Warning, "Request {RequestId} failed: {Code}: {Message}")]
        public static partial void Failed(ILogger logger, string requestId, string code, string message);

        [LoggerMessage(1003, LogLevel.Information, "Request {RequestId} repeated within the duplicate window: not answered again")]
        public static partial void Duplicate(ILogger logger, string requestId);

        [LoggerMessage(1004, LogLevel.Error, "Request {RequestId} failed in the model")]
        public static partial void RunFailed(ILogger logger, Exception exception, string requestId);
    }
}
