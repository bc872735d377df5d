using System.Diagnostics;
using System.Diagnostics.Metrics;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Core.Telemetry;

/// <summary>
/// The node's metrics (docs/design.md §11), on one Meter, "EdgeLlm": the OpenTelemetry GenAI semantic
/// conventions' instruments where they exist (their names, units, attributes and bucket boundaries), and
/// edgellm.* for the rest: replies by decision and outcome, the queue, the board. Nothing is exported unless
/// the host adds an exporter (Telemetry:PrometheusPort, Telemetry:OtlpEndpoint); unobserved, recording is a
/// no-op.
/// </summary>
public sealed class NodeMetrics
{
    public const string MeterName = "EdgeLlm";

    private const string Operation = "chat";
    private const string Provider = "edgellm";

    // The GenAI semantic conventions' advised boundaries (gen-ai-metrics.md).
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    private static readonly double[] PerTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private readonly Meter _meter;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;
    private readonly Histogram<long> _tokenUsage;
    private readonly Counter<long> _replies;
    private readonly Counter<long> _escalations;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _loads;
    private readonly Counter<long> _unloads;
    private readonly Counter<long> _pulls;
    private readonly Counter<long> _pulledBytes;

    /// <param name="board">The board's state, for its gauges; none without one.</param>
    public NodeMetrics(IMeterFactory meters, IResourceSnapshotSource? board = null)
    {
        _meter = meters.Create(MeterName);
        _requestDuration = _meter.CreateHistogram("gen_ai.server.request.duration", "s", "Time from a request's arrival to its final reply",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _timeToFirstToken = _meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time from a request's arrival to its first generated token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _timePerOutputToken = _meter.CreateHistogram("gen_ai.server.time_per_output_token", "s", "Time per generated token after the first",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PerTokenBuckets });
        _tokenUsage = _meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Tokens read and written per generation",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _replies = _meter.CreateCounter<long>("edgellm.replies", "{reply}", "Final replies, by decision and outcome");
        _escalations = _meter.CreateCounter<long>("edgellm.escalations", "{request}", "Requests sent up a tier");
        _fallbacks = _meter.CreateCounter<long>("edgellm.fallbacks", "{request}", "Escalated requests whose upstream was silent, by what the node did then");
        _loads = _meter.CreateCounter<long>("edgellm.model.loads", "{load}", "Model loads, by model and outcome");
        _unloads = _meter.CreateCounter<long>("edgellm.model.unloads", "{unload}", "Models taken out of memory, by model and why");
        _pulls = _meter.CreateCounter<long>("edgellm.model.pulls", "{pull}", "Model pulls ended, by model and outcome");
        _pulledBytes = _meter.CreateCounter<long>("edgellm.model.pulled", "By", "Bytes of the models pulled, as installed");
        if (board is not null)
        {
            ObserveBoard(board);
        }
    }

    /// <summary>The pipeline's state as gauges: requests queued, escalated and waiting for a pull.</summary>
    public void ObservePipeline(Func<NodeActivity> activity)
    {
        _meter.CreateObservableGauge("edgellm.queue.depth", () => activity().Queued, "{request}", "Requests waiting for the local model");
        _meter.CreateObservableGauge("edgellm.requests.escalated", () => activity().Escalated, "{request}", "Requests an upper tier is answering");
        _meter.CreateObservableGauge("edgellm.requests.awaiting_pull", () => activity().AwaitingPull, "{request}", "Requests waiting for their model to be pulled");
    }

    /// <summary>A final reply; <paramref name="duration"/> since the request arrived, when it was one (not a message refused unread).</summary>
    public void Replied(Reply reply, TimeSpan? duration)
    {
        string decision = reply switch
        {
            Answer answer => answer.Route.Decision,
            Relayed => Relayed.Decision,
            _ => "none",
        };
        string? error = reply.ErrorCode?.ToWireName();
        var tags = new TagList
        {
            { "gen_ai.operation.name", Operation },
            { "gen_ai.provider.name", Provider },
            { "edgellm.decision", decision },
        };
        var route = reply switch { Answer answer => answer.Route, Relayed relayed => relayed.Route, _ => null };
        if (route is not null)
        {
            tags.Add("edgellm.reasons", string.Join(",", route.Reasons));
        }

        if (reply is Answer { Model: var model, Tier: var tier })
        {
            tags.Add("gen_ai.response.model", model);
            tags.Add("edgellm.tier", tier);
        }

        if (error is not null)
        {
            tags.Add("error.type", error);
        }

        _replies.Add(1, tags);
        if (duration is TimeSpan elapsed)
        {
            _requestDuration.Record(elapsed.TotalSeconds, tags);
        }
    }

    /// <summary>A request sent up to tier <paramref name="tier"/>.</summary>
    public void Escalated(int tier) => _escalations.Add(1, new KeyValuePair<string, object?>("edgellm.upstream.tier", tier));

    /// <summary>An upstream silent past its time: <paramref name="outcome"/> is what the node did (degraded-local, upstream-unavailable).</summary>
    public void FellBack(string outcome) => _fallbacks.Add(1, new KeyValuePair<string, object?>("edgellm.fallback", outcome));

    /// <summary>A model load, done or failed.</summary>
    public void Loaded(string model, bool succeeded) =>
        _loads.Add(1, new KeyValuePair<string, object?>("edgellm.model", model), new KeyValuePair<string, object?>("edgellm.outcome", succeeded ? "loaded" : "failed"));

    /// <summary>A model taken out of memory, and why (idle, evicted, command, …).</summary>
    public void Unloaded(string model, string why) =>
        _unloads.Add(1, new KeyValuePair<string, object?>("edgellm.model", model), new KeyValuePair<string, object?>("edgellm.why", why));

    /// <summary>A pull ended: the bytes it installed, or null when it failed or was stopped.</summary>
    public void Pulled(string model, long? bytes)
    {
        var id = new KeyValuePair<string, object?>("edgellm.model", model);
        _pulls.Add(1, id, new KeyValuePair<string, object?>("edgellm.outcome", bytes is null ? "failed" : "pulled"));
        if (bytes is long installed)
        {
            _pulledBytes.Add(installed, id);
        }
    }

    /// <summary>One generation on this node's model: its first token's wait, the time per token after it, and the tokens.</summary>
    public void Generated(string model, TimeSpan? firstToken, TimeSpan? perOutputToken, int inputTokens, int outputTokens)
    {
        var tags = new TagList { { "gen_ai.operation.name", Operation }, { "gen_ai.provider.name", Provider }, { "gen_ai.response.model", model } };
        if (firstToken is TimeSpan first)
        {
            _timeToFirstToken.Record(first.TotalSeconds, tags);
        }

        if (perOutputToken is TimeSpan perToken)
        {
            _timePerOutputToken.Record(perToken.TotalSeconds, tags);
        }

        var input = tags;
        input.Add("gen_ai.token.type", "input");
        _tokenUsage.Record(inputTokens, input);
        var output = tags;
        output.Add("gen_ai.token.type", "output");
        _tokenUsage.Record(outputTokens, output);
    }

    private void ObserveBoard(IResourceSnapshotSource board)
    {
        _meter.CreateObservableGauge("edgellm.board.temperature", () => Measured(board.Latest.HottestCelsius), "Cel", "The hottest temperature the board reports");
        _meter.CreateObservableGauge("edgellm.board.memory.usable", () => Measured(board.Latest.UsableMemoryBytes), "By", "Memory a new allocation can count on");
        _meter.CreateObservableGauge("edgellm.board.throttled", () => Flag(board.Latest.Thermal.Throttling?.ThrottledNow), "1", "1 while the firmware throttles the CPU");
        _meter.CreateObservableGauge("edgellm.board.under_voltage", () => Flag(board.Latest.Thermal.Throttling?.UnderVoltageNow), "1", "1 while the supply is under-voltage");
        _meter.CreateObservableGauge("edgellm.board.on_battery", () => Flag(board.Latest.Power.OnBattery), "1", "1 while a battery discharges");
        _meter.CreateObservableGauge("edgellm.board.power", () => Measured(board.Latest.Power.Meter?.Watts), "W", "Power drawn, from a meter on the supply line");
    }

    // A value the board does not report is no measurement, not a zero.
    private static IEnumerable<Measurement<double>> Measured(double? value) => value is double v ? [new Measurement<double>(v)] : [];

    private static IEnumerable<Measurement<double>> Measured(long? value) => value is long v ? [new Measurement<double>(v)] : [];

    private static IEnumerable<Measurement<int>> Flag(bool? value) => value is bool set ? [new Measurement<int>(set ? 1 : 0)] : [];
}
