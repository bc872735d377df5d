using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>
/// The pipeline's side of docs/design.md §4: what it sends up, what it relays back, the fallback policy and the
/// hop rules. Node pi-07 (tier 0) serves a general model; gateway gw-1 (tier 1) advertises a medical one.
/// </summary>
public sealed class EscalationTests : IDisposable
{
    private static readonly CatalogModel GatewayMedical = new() { Id = "medical-1b", Tier = 1, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["medical"] = 0.9 } };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private readonly NodeCounters _counters = new();
    private readonly ScriptedEscalator _upstream = new();
    private readonly ScriptedChatClient _local = new();

    [Fact]
    public async Task Escalate_RelaysTheUpstreamAnswerUnderTheRequestersId()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();

        var outcome = await pipeline.SubmitAsync(Submit("fever in a toddler", target, id: "r-9", path: ["sensor-hub"]), CancellationToken.None);
        var call = await _upstream.NextCallAsync();
        call.Reply.SetResult(new UpstreamReply(Envelope("""{"id":"r-9","text":"see a doctor","tier":1,"node":"gw-1","route":{"decision":"local","reasons":["fits-local"]}}"""), null));

        Assert.Equal(SubmitOutcome.Escalated, outcome);
        Assert.Equal(("fever in a toddler", "medical"), (call.Request.Prompt, call.Request.Domain));
        Assert.Equal(["sensor-hub", "pi-07"], call.Path);
        var relayed = Assert.IsType<Relayed>(await target.NextAsync());
        Assert.Equal(("r-9", (ErrorCode?)null, "escalated"), (relayed.RequestId, relayed.Error, relayed.Route.Decision));
        Assert.Contains(Reasons.Domain, relayed.Route.Reasons);
        Assert.Equal("see a doctor", JsonDocument.Parse(relayed.Envelope).RootElement.GetProperty("text").GetString());
        Assert.Equal(1, _counters.Answers);
        Assert.Empty(_local.Prompts);
    }

    [Fact]
    public async Task Escalate_UpstreamError_IsRelayedAndCountedAsThatError()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("fever", target), CancellationToken.None);
        (await _upstream.NextCallAsync()).Reply.SetResult(new UpstreamReply(Envelope("""{"id":null,"error":{"code":"busy","message":"queue full"}}"""), ErrorCode.Busy));

        Assert.Equal(ErrorCode.Busy, Assert.IsType<Relayed>(await target.NextAsync()).Error);
        Assert.Equal(new Dictionary<string, long> { ["busy"] = 1 }, _counters.Errors());
    }

    [Fact]
    public async Task Escalate_SilentUpstream_FallsBackToADegradedLocalAnswerWithTimeToSpare()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();
        var now = _time.GetUtcNow();

        await pipeline.SubmitAsync(Submit("fever", target, id: "r-1", maxLatencyMs: 4000), CancellationToken.None);
        var call = await _upstream.NextCallAsync();
        call.Reply.SetResult(null);

        // The local model has no measured rate: half of the time is kept for it.
        Assert.Equal(now.AddMilliseconds(2000), call.GiveUpAt);
        var answer = Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal(("r-1", "echo: fever", 0), (answer.RequestId, answer.Text, answer.Tier));
        Assert.Equal(("local", true), (answer.Route.Decision, answer.Route.Degraded));
        Assert.Equal([Reasons.Domain, Reasons.NoUpstream], answer.Route.Reasons);
    }

    [Fact]
    public async Task Escalate_SilentUpstream_FallsBackOnlyToAModelOnTheBoard_NeverToOneToPull()
    {
        // The model to pull knows medicine better than the board's, but only the board's can answer now.
        var helper = new CatalogModel { Id = "plant-helper", Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["general"] = 0.1 } };
        var nurse = new CatalogModel { Id = "nurse-1b", Format = ModelFormats.OnnxGenAi, Bytes = 1 << 30, Domains = new Dictionary<string, double> { ["medical"] = 0.5 } };
        var store = new ScriptedAcquisition(nurse.Id, _local, helper);
        var directory = new UpstreamDirectory();
        directory.Update(new UpstreamAdvertisement("gw-1", 1, Online: true, [GatewayMedical], QueueDepth: 0, RoundTripMs: null));
        using var pipeline = await TestPipeline.StartAsync(
            _time, _counters, _local, upstream: new UpstreamOptions { Tier = 1 }, directory: directory, escalator: _upstream,
            catalog: new ModelCatalog([nurse, helper], new Dictionary<string, IReadOnlyList<string>>()), models: store, acquisition: store);
        var target = new RecordingReplyTarget();
        var request = new Request { Prompt = "fever", Id = "r-3", Domain = "medical", MinQuality = 0.8 };

        await pipeline.SubmitAsync(new Submission(request, _time.GetUtcNow(), null, target, []), CancellationToken.None);
        (await _upstream.NextCallAsync()).Reply.SetResult(null);

        var answer = Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal((helper.Id, true), (answer.Model, answer.Route.Degraded));
        Assert.Contains(Reasons.NoUpstream, answer.Route.Reasons);
        Assert.Equal((0, 0), (store.Waits, store.BackgroundPulls));
    }

    [Fact]
    public async Task Escalate_SilentUpstreamWithTheErrorPolicy_AnswersUpstreamUnavailable()
    {
        using var pipeline = await StartAsync(new UpstreamOptions { Tier = 1, Fallback = UpstreamOptions.Error, TimeoutMs = 1500 });
        var target = new RecordingReplyTarget();
        var now = _time.GetUtcNow();

        await pipeline.SubmitAsync(Submit("fever", target, id: "r-2"), CancellationToken.None);
        var call = await _upstream.NextCallAsync();
        call.Reply.SetResult(null);

        Assert.Equal(now.AddMilliseconds(1500), call.GiveUpAt);
        Assert.Equal(new Failure("r-2", ErrorCode.UpstreamUnavailable, "tier 1 did not answer within 1500 ms"), await target.NextAsync());
        Assert.Empty(_local.Prompts);
    }

    [Fact]
    public async Task Submit_PathThatHoldsThisNode_IsALoopAnsweredWithAnError()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();

        var outcome = await pipeline.SubmitAsync(Submit("fever", target, id: "loop", path: ["pi-07", "gw-1"]), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        Assert.Equal(new Failure("loop", ErrorCode.UpstreamUnavailable, "escalation loop: the request went pi-07 > gw-1 and came back to pi-07"), Assert.Single(target.Sent));
        Assert.Equal(0, _upstream.Count);
        Assert.Empty(_local.Prompts);
    }

    [Fact]
    public async Task Submit_PastMaxHops_IsAnsweredWithAnErrorEvenWhenItCouldRunHere()
    {
        using var pipeline = await StartAsync(new UpstreamOptions { Tier = 1, MaxHops = 2 });
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("a story", target, path: ["a", "b", "c"]), CancellationToken.None);

        var failure = Assert.IsType<Failure>(Assert.Single(target.Sent));
        Assert.Equal((ErrorCode.UpstreamUnavailable, "the request took 3 hops (a > b > c), more than Upstream:MaxHops (2)"), (failure.Code, failure.Message));
        Assert.Empty(_local.Prompts);
    }

    [Fact]
    public async Task Escalate_OneHopShortOfMaxHops_IsNotSentOnButRunsHereWhenItCan()
    {
        using var pipeline = await StartAsync(new UpstreamOptions { Tier = 1, MaxHops = 2 });
        var forwarded = new RecordingReplyTarget("a");
        var local = new RecordingReplyTarget("b");

        await pipeline.SubmitAsync(Submit("fever", forwarded, path: ["a", "b"]), CancellationToken.None);
        await pipeline.SubmitAsync(Submit("a story", local, path: ["a", "b"]), CancellationToken.None);

        var failure = Assert.IsType<Failure>(Assert.Single(forwarded.Sent));
        Assert.Equal((ErrorCode.UpstreamUnavailable, "tier 1 would answer it, but sending it on would take it past Upstream:MaxHops (2)"), (failure.Code, failure.Message));
        Assert.IsType<Answer>(await local.NextAsync());
        Assert.Equal(0, _upstream.Count);
    }

    [Fact]
    public async Task Escalate_PastMaxInFlight_AnswersBusy()
    {
        using var pipeline = await StartAsync(new UpstreamOptions { Tier = 1, MaxInFlight = 1 });
        var first = new RecordingReplyTarget("a");
        var second = new RecordingReplyTarget("b");

        await pipeline.SubmitAsync(Submit("fever", first), CancellationToken.None);
        var outcome = await pipeline.SubmitAsync(Submit("rash", second), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        Assert.Equal(ErrorCode.Busy, Assert.IsType<Failure>(Assert.Single(second.Sent)).Code);
        (await _upstream.NextCallAsync()).Reply.SetResult(null);
        Assert.IsType<Answer>(await first.NextAsync());
    }

    [Fact]
    public async Task Stop_DuringAnEscalation_AnswersTimeoutAfterTheGrace()
    {
        var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();
        await pipeline.SubmitAsync(Submit("fever", target), CancellationToken.None);
        await _upstream.NextCallAsync();

        var stopping = pipeline.StopAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(11));
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new Failure(null, ErrorCode.Timeout, "the node shut down before the upstream answered"), await target.NextAsync());
        pipeline.Dispose();
    }

    public void Dispose() => _local.Dispose();

    private Task<RequestPipeline> StartAsync(UpstreamOptions? upstream = null)
    {
        var directory = new UpstreamDirectory();
        directory.Update(new UpstreamAdvertisement("gw-1", 1, Online: true, [GatewayMedical], QueueDepth: 0, RoundTripMs: null));
        return TestPipeline.StartAsync(_time, _counters, _local, upstream: upstream ?? new UpstreamOptions { Tier = 1 }, directory: directory, escalator: _upstream);
    }

    private Submission Submit(string prompt, RecordingReplyTarget target, string? id = null, int? maxLatencyMs = null, IReadOnlyList<string>? path = null)
    {
        var now = _time.GetUtcNow();
        string? domain = prompt is "fever" or "rash" or "fever in a toddler" ? "medical" : null;
        return new Submission(
            new Request { Prompt = prompt, Id = id, Domain = domain, MaxLatencyMs = maxLatencyMs },
            now,
            maxLatencyMs is int ms ? now.AddMilliseconds(ms) : null,
            target,
            path ?? []);
    }

    private static byte[] Envelope(string json) => Encoding.UTF8.GetBytes(json);
}
