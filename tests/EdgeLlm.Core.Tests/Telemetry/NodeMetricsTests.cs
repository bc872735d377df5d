using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Core.Tests.Processing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Telemetry;

/// <summary>What the pipeline records on the GenAI instruments and EdgeLlm's own (docs/telemetry.md).</summary>
public sealed class NodeMetricsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly TestMeterFactory _meters = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, string? Unit, double Value, Dictionary<string, object?> Tags)> _recorded = new();

    public NodeMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Created.Contains(instrument.Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    [Fact]
    public async Task ALocalAnswer_IsMeasuredFromItsArrival_WithItsTokensAndFirstToken()
    {
        using var pipeline = await TestPipeline.StartAsync(_time, new NodeCounters(), new TokenChatClient(["Once", " upon", " a"]), metrics: new NodeMetrics(_meters));
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "story", Format = RequestFormat.Envelope }, _time.GetUtcNow(), null, target), CancellationToken.None);
        await target.NextAsync();

        var duration = Assert.Single(_recorded, r => r.Instrument == "gen_ai.server.request.duration");
        Assert.Equal(("s", "chat", "edgellm", "local", "scripted"), (duration.Unit, duration.Tags["gen_ai.operation.name"], duration.Tags["gen_ai.provider.name"], duration.Tags["edgellm.decision"], duration.Tags["gen_ai.response.model"]));
        Assert.Single(_recorded, r => r.Instrument == "gen_ai.server.time_to_first_token");
        Assert.Single(_recorded, r => r.Instrument == "gen_ai.server.time_per_output_token");
        Assert.Equal(
            [("input", 9.0), ("output", 3.0)],
            _recorded.Where(r => r.Instrument == "gen_ai.client.token.usage").Select(r => ((string)r.Tags["gen_ai.token.type"]!, r.Value)).Order());
    }

    [Fact]
    public async Task ARefusal_IsCountedByItsErrorCode_AndHasNoGeneration()
    {
        using var pipeline = await TestPipeline.StartAsync(_time, new NodeCounters(), client: null, metrics: new NodeMetrics(_meters));
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "story" }, _time.GetUtcNow(), null, target), CancellationToken.None);
        await target.NextAsync();

        var reply = Assert.Single(_recorded, r => r.Instrument == "edgellm.replies");
        Assert.Equal(("no-model", "none"), (reply.Tags["error.type"], reply.Tags["edgellm.decision"]));
        Assert.DoesNotContain(_recorded, r => r.Instrument.StartsWith("gen_ai.client", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnEscalationWhoseUpstreamIsSilent_IsCountedWithItsFallback()
    {
        var escalator = new ScriptedEscalator();
        using var pipeline = await TestPipeline.StartAsync(
            _time, new NodeCounters(), new ScriptedChatClient(), upstream: new UpstreamOptions { Tier = 1 }, directory: TestUpstreams.MedicalGateway(), escalator: escalator, metrics: new NodeMetrics(_meters));
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "fever", Domain = "medical" }, _time.GetUtcNow(), null, target), CancellationToken.None);
        (await escalator.NextCallAsync()).Reply.SetResult(null);
        await target.NextAsync();

        Assert.Equal(1, Assert.Single(_recorded, r => r.Instrument == "edgellm.escalations").Tags["edgellm.upstream.tier"]);
        Assert.Equal("degraded-local", Assert.Single(_recorded, r => r.Instrument == "edgellm.fallbacks").Tags["edgellm.fallback"]);
    }

    [Fact]
    public void Pulls_AreCountedByOutcome_AndTheirBytesWhenTheyInstalledAModel()
    {
        var metrics = new NodeMetrics(_meters);

        metrics.Pulled("qwen2.5-0.5b-instruct-int4", 352_000_000);
        metrics.Pulled("qwen2.5-0.5b-instruct-int4", null);

        Assert.Equal(["failed", "pulled"], _recorded.Where(r => r.Instrument == "edgellm.model.pulls").Select(r => (string)r.Tags["edgellm.outcome"]!).Order());
        var bytes = Assert.Single(_recorded, r => r.Instrument == "edgellm.model.pulled");
        Assert.Equal((352_000_000.0, "By"), (bytes.Value, bytes.Unit));
    }

    [Fact]
    public async Task ThePipelinesQueue_IsAGauge()
    {
        using var pipeline = await TestPipeline.StartAsync(_time, new NodeCounters(), new ScriptedChatClient(), metrics: new NodeMetrics(_meters));

        _listener.RecordObservableInstruments();

        Assert.Equal(0.0, Assert.Single(_recorded, r => r.Instrument == "edgellm.queue.depth").Value);
    }

    public void Dispose()
    {
        _listener.Dispose();
        foreach (var meter in _meters.Created)
        {
            meter.Dispose();
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        _recorded.Enqueue((instrument.Name, instrument.Unit, value, new Dictionary<string, object?>(tags.ToArray())));
}
