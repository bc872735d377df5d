using System.Diagnostics;
using System.Globalization;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// The node's door (docs/design.md §2): each request is checked (a repeat is answered once, the hop rules
/// hold), routed by the recommender, and then queued for the local model, sent up a tier (<see cref="Escalation"/>),
/// held for a model being pulled (<see cref="PullWaits"/>), or answered at once with why it cannot be
/// taken. One runner drains the queue through <see cref="LocalGeneration"/>; every accepted request gets
/// exactly one reply. On shutdown no request is taken, what was taken runs on for the grace period, and
/// whatever is left is answered timeout.
/// </summary>
internal sealed class RequestPipeline : BackgroundService, INodePipeline
{
    private const int RememberedIds = 10_000;

    private readonly RequestRouter _router;
    private readonly NodeOptions _node;
    private readonly UpstreamOptions _upstream;
    private readonly AdmissionOptions _admission;
    private readonly IModelAcquisition? _acquisition;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestPipeline> _logger;
    private readonly NodeCounters _counters;
    private readonly RecentRequestIds _recentIds;
    private readonly PipelineShutdown _shutdown;
    private readonly AdmissionQueue _queue;
    private readonly ReplySender _replies;
    private readonly LocalGeneration _generation;
    private readonly Escalation _escalation;
    private readonly PullWaits _pullWaits;
    private readonly BackgroundRequests _escalating;
    private readonly BackgroundRequests _awaitingPull;
    private readonly CancellableRequests _cancellable = new();
    private readonly ConversationStore _conversations;
    private volatile bool _generating;

    /// <param name="escalator">The way up a tier; without one (no transport for it) nothing is escalated.</param>
    /// <param name="acquisition">The model store; without one nothing is pulled on demand.</param>
    public RequestPipeline(
        IModelProvider models,
        RequestRouter router,
        NodeCounters counters,
        NodeMetrics metrics,
        IOptions<AdmissionOptions> admission,
        IOptions<NodeOptions> node,
        IOptions<UpstreamOptions> upstream,
        IOptions<StreamingOptions> streaming,
        IOptions<ConversationsOptions> conversations,
        TimeProvider time,
        ILogger<RequestPipeline> logger,
        IEscalator? escalator = null,
        IModelAcquisition? acquisition = null)
    {
        _router = router;
        _node = node.Value;
        _upstream = upstream.Value;
        _admission = admission.Value;
        _acquisition = acquisition;
        _counters = counters;
        _time = time;
        _logger = logger;
        _recentIds = new RecentRequestIds(TimeSpan.FromSeconds(_admission.DuplicateWindowSeconds), RememberedIds, time);
        _shutdown = new PipelineShutdown(time);
        _queue = new AdmissionQueue(_admission.QueueCapacity, _admission.EffectiveMaxPerRequester);
        _replies = new ReplySender(counters, metrics, time, logger);
        _conversations = new ConversationStore(conversations.Value, _admission.MaxPromptBytes, time);
        _generation = new LocalGeneration(models, _admission, _node, streaming.Value, metrics, counters, time, logger);
        _escalating = new BackgroundRequests(_upstream.MaxInFlight);
        _awaitingPull = new BackgroundRequests(_admission.MaxAwaitingPull);
        _escalation = new Escalation(escalator, _upstream, _node, streaming.Value, router, _queue, _escalating, _replies, metrics, _shutdown, time, logger);
        _pullWaits = new PullWaits(acquisition, _admission, router, _queue, _escalation, _awaitingPull, _replies, _shutdown, time, logger);
        metrics.ObservePipeline(() => Activity);
    }

    public NodeActivity Activity => new(_generating, _queue.Depth, _escalating.Count, _awaitingPull.Count, _counters.TotalErrors);

    public async ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken)
    {
        if (submission.Request.Id is string id && !_recentIds.TryRegister($"{submission.ReplyTo.Key}\n{id}"))
        {
            Log.Duplicate(_logger, id);
            return SubmitOutcome.Duplicate;
        }

        (submission, var taken) = Take(submission);
        var request = submission.Request;

        // The hop rules come first: a request in a loop, or one that went too far, is never run or sent on.
        string? hopRuleBroken = HopRules.Broken(submission.Path, _node.Id, _upstream.MaxHops);
        var decision = _shutdown.Closed || hopRuleBroken is not null ? null : _router.Route(request, _queue.Depth);
        if (decision is { Outcome: not RouteOutcome.Local, Acquire: string wanted })
        {
            _acquisition?.StartPull(wanted);
        }

        if (decision is not null)
        {
            taken.Span?.SetTag("edgellm.decision", decision.OutcomeName).SetTag("edgellm.reasons", string.Join(",", decision.Reasons)).SetTag("gen_ai.request.model", decision.Model);
            Log.Routed(_logger, request.Id ?? "(no id)", decision.OutcomeName, decision.Model ?? "-", decision.Tier?.ToString(CultureInfo.InvariantCulture) ?? "-", decision.Domain, string.Join(",", decision.Reasons),
                decision.Predicted.LatencyMs is double ms ? $"{ms.ToString(CultureInfo.InvariantCulture)} ms" : "unknown");
        }

        Failure? refusal =
            hopRuleBroken is not null ? new Failure(request.Id, ErrorCode.UpstreamUnavailable, hopRuleBroken)
            : decision is null ? new Failure(request.Id, ErrorCode.Busy, "the node is shutting down")
            : decision.Outcome == RouteOutcome.Reject ? new Failure(request.Id, decision.RejectCode ?? ErrorCode.NoModel, DecisionText.WhyNot(decision, _queue.Capacity))
            : submission.Deadline <= _time.GetUtcNow() ? new Failure(request.Id, ErrorCode.Timeout, "the request expired before it arrived")
            : decision.Outcome == RouteOutcome.Escalate ? _escalation.TryStart(submission, decision)
            : decision.Acquire is string model ? _pullWaits.TryStart(submission, decision, model)
            : _queue.TryTake(submission, decision) switch
            {
                Admission.Full => new Failure(request.Id, ErrorCode.Busy, $"the queue is full ({_queue.Capacity} requests waiting)"),
                Admission.RequesterFull => new Failure(request.Id, ErrorCode.Busy, $"this requester has {_queue.MaxPerRequester} requests waiting already (Admission:MaxPerRequester)"),
                _ => null,
            };

        if (refusal is null)
        {
            return decision!.Outcome == RouteOutcome.Escalate ? SubmitOutcome.Escalated : SubmitOutcome.Queued;
        }

        await _replies.SendAsync(submission, refusal, cancellationToken).ConfigureAwait(false);
        return SubmitOutcome.Refused;
    }

    public ValueTask RejectAsync(Failure failure, IReplyTarget replyTo, CancellationToken cancellationToken) =>
        _replies.SendAsync(replyTo, failure, cancellationToken);

    public int Cancel(string id)
    {
        int cancelled = _cancellable.Cancel(id);
        Log.CancelReceived(_logger, id, cancelled);
        return cancelled;
    }

    // From here to its final reply the request can be cancelled, carries its kept conversation, and has a
    // span under the requester's trace.
    private (Submission Taken, TakenRequest Route) Take(Submission submission)
    {
        var original = submission.Request;
        var (request, turn) = _conversations.Open(original);
        var span = NodeTracing.StartDetached("edgellm.request", ActivityKind.Server, submission.TraceContext);
        span?.SetTag("edgellm.node", _node.Id).SetTag("edgellm.request.id", original.Id).SetTag("gen_ai.operation.name", "chat");
        var taken = new TakenRequest(submission.ReplyTo, original.Id is string id ? _cancellable.Register(id) : null, _conversations, original, turn, span);
        return (submission with { Request = request, ReplyTo = taken, Cancelled = taken.Cancelled, TraceContext = span?.Context ?? submission.TraceContext }, taken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _shutdown.Close(TimeSpan.FromSeconds(_admission.ShutdownGraceSeconds));
        // Past the host's own shutdown timeout nothing may run on: abort at once.
        using var hostGaveUp = cancellationToken.Register(_shutdown.AbortNow);
        // Escalations and waits for a pull end first: their fallbacks and requests may still need the queue.
        await Task.WhenAll(_escalating.WhenAllDoneAsync(), _awaitingPull.WhenAllDoneAsync()).WaitAsync(cancellationToken).ConfigureAwait(false);
        _queue.Close();
        if (ExecuteTask is not null)
        {
            await ExecuteTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _shutdown.Dispose();
        base.Dispose();
    }

    // Runs until the queue is closed and drained; stopping is StopAsync's business, not the token's.
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (submission, decision) in _queue.ReadAllAsync().ConfigureAwait(false))
        {
            _generating = true;
            var reply = await _generation.RunAsync(submission, decision, _shutdown.Abort).ConfigureAwait(false);
            _generating = false;
            await _replies.SendAsync(submission, reply, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
