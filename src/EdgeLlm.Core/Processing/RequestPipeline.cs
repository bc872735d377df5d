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
/// Admission and execution (DESIGN.md §2): a bounded queue that says busy when full, requests run one at a
/// time on the local model, every accepted request answered exactly once. On shutdown the queue closes, what
/// was taken runs on for the grace period, and whatever is left is answered timeout.
/// </summary>
public sealed partial class RequestPipeline : BackgroundService
{
    private const int RememberedIds = 10_000;

    private readonly IModelProvider _models;
    private readonly RequestRouter _router;
    private readonly NodeCounters _counters;
    private readonly AdmissionOptions _admission;
    private readonly NodeOptions _node;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestPipeline> _logger;
    private readonly Channel<Admitted> _queue;
    private readonly RecentRequestIds _recentIds;
    private readonly CancellationTokenSource _abort;
    private volatile bool _closed;

    public RequestPipeline(IModelProvider models, RequestRouter router, NodeCounters counters, IOptions<AdmissionOptions> admission, IOptions<NodeOptions> node, TimeProvider time, ILogger<RequestPipeline> logger)
    {
        _models = models;
        _router = router;
        _counters = counters;
        _admission = admission.Value;
        _node = node.Value;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<Admitted>(new BoundedChannelOptions(_admission.QueueCapacity) { SingleReader = true });
        _recentIds = new RecentRequestIds(TimeSpan.FromSeconds(_admission.DuplicateWindowSeconds), RememberedIds, time);
        _abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
    }

    /// <summary>Requests waiting to run.</summary>
    public int QueueDepth => _queue.Reader.Count;

    /// <summary>Takes a request, or answers it at once when it cannot be taken.</summary>
    public async ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken)
    {
        var request = submission.Request;
        if (request.Id is string id && !_recentIds.TryRegister($"{submission.ReplyTo.Key}\n{id}"))
        {
            Log.Duplicate(_logger, id);
            return SubmitOutcome.Duplicate;
        }

        var decision = _closed ? null : _router.Route(request, QueueDepth);
        if (decision is not null)
        {
            Log.Routed(_logger, request.Id ?? "(no id)", decision.OutcomeName, decision.Model ?? "-", decision.Domain, string.Join(",", decision.Reasons), decision.Predicted.LatencyMs ?? -1);
        }

        Failure? refusal =
            decision is null ? new Failure(request.Id, ErrorCode.Busy, "the node is shutting down")
            : decision.Outcome == RouteOutcome.Reject ? new Failure(request.Id, decision.RejectCode ?? ErrorCode.NoModel, Describe(decision))
            : decision.Outcome == RouteOutcome.Escalate ? new Failure(request.Id, ErrorCode.UpstreamUnavailable, $"tier {decision.Tier} would answer it ({string.Join(", ", decision.Reasons)}), but this node cannot escalate")
            : submission.Deadline <= _time.GetUtcNow() ? new Failure(request.Id, ErrorCode.Timeout, "the request expired before it arrived")
            : !_queue.Writer.TryWrite(new Admitted(submission, decision)) ? new Failure(request.Id, ErrorCode.Busy, $"the queue is full ({_admission.QueueCapacity} requests waiting)")
            : null;

        if (refusal is null)
        {
            return SubmitOutcome.Queued;
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
        _queue.Writer.TryComplete();
        _abort.CancelAfter(TimeSpan.FromSeconds(_admission.ShutdownGraceSeconds));
        // Past the host's own shutdown timeout nothing may run on: abort at once.
        using var hostGaveUp = cancellationToken.Register(_abort.Cancel);
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
            var reply = await RunAsync(submission, decision).ConfigureAwait(false);
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
            if (await _models.GetAsync(_abort.Token).ConfigureAwait(false) is not LoadedModel model)
            {
                return new Failure(request.Id, ErrorCode.NoModel, "this node has no model to answer with");
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
                return new Failure(request.Id, ErrorCode.Timeout, $"no answer within the deadline ({request.MaxLatencyMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "message expiry"} ms)");
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

        await replyTo.SendAsync(reply, cancellationToken).ConfigureAwait(false);
    }

    // A request taken into the queue, with the route the recommender chose for it.
    private sealed record Admitted(Submission Submission, Decision Decision);

    private static partial class Log
    {
        [LoggerMessage(1005, LogLevel.Information, "Request {RequestId} routed {Decision} to {Model} for domain {Domain} ({Reasons}); predicted {LatencyMs} ms")]
        public static partial void Routed(ILogger logger, string requestId, string decision, string model, string domain, string reasons, double latencyMs);

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
