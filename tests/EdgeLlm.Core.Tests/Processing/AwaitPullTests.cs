using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>
/// The pipeline with a model that must be pulled first: requests wait for the pull outside the queue (so that
/// a pull never holds up the model's runner), then run; a failed pull sends them on the way they can still go.
/// </summary>
public sealed class AwaitPullTests : IDisposable
{
    private static readonly CatalogModel Tiny = new()
    {
        Id = "stories260k-int4",
        Tier = 0,
        Format = ModelFormats.Llama2c,
        Parameters = 260_032,
        Bytes = 339_580,
        RamBytes = 50_000_000,
        ContextLength = 512,
        Domains = new Dictionary<string, double> { ["general"] = 0.3 },
        Rates = new Dictionary<string, ModelRate> { ["x64"] = new(5000, 40000) },
    };

    // On the board from the start: it answers anything, poorly.
    private static readonly CatalogModel Helper = new() { Id = "plant-helper", Tier = 0, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["general"] = 0.1 } };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private readonly NodeCounters _counters = new();
    private readonly ScriptedChatClient _local = new();
    private readonly ScriptedAcquisition _store;

    public AwaitPullTests() => _store = new ScriptedAcquisition(Tiny.Id, _local);

    public void Dispose() => _local.Dispose();

    [Fact]
    public async Task Submit_TwentyRequestsForAModelBeingPulled_AllWaitAndAllAreAnsweredOnceItIsHere()
    {
        using var pipeline = await StartAsync(queueCapacity: 4);
        var targets = Enumerable.Range(0, 20).Select(i => new RecordingReplyTarget($"requester-{i}")).ToList();

        var outcomes = new List<SubmitOutcome>();
        foreach (var target in targets)
        {
            outcomes.Add(await pipeline.SubmitAsync(Submit("Hello", target), CancellationToken.None));
        }

        Assert.All(outcomes, o => Assert.Equal(SubmitOutcome.Queued, o));
        await _store.WaitsStartedAsync(20);
        Assert.Empty(_local.Prompts);
        _store.Complete();

        foreach (var target in targets)
        {
            var answer = Assert.IsType<Answer>(await target.NextAsync());
            Assert.Equal(Tiny.Id, answer.Model);
            Assert.Contains(Reasons.Acquire, answer.Route.Reasons);
        }

        Assert.Equal(20, _counters.Answers);
    }

    [Fact]
    public async Task Submit_ThePullFailsAndNothingElseCanAnswer_IsNoModelNamingWhy()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("Hello", target), CancellationToken.None);
        await _store.WaitsStartedAsync(1);
        _store.Fail("stories260k-int4 could not be pulled: https://example.org/stories260K.bin: could not be reached (no route to host)");

        var failure = Assert.IsType<Failure>(await target.NextAsync());
        Assert.Equal(ErrorCode.NoModel, failure.Code);
        Assert.Contains("https://example.org/stories260K.bin: could not be reached", failure.Message);
    }

    [Fact]
    public async Task Submit_ThePullFailsAndAModelOnTheBoardCanRun_ItAnswersDegraded_WithoutWaitingForAnotherPull()
    {
        // Two builds of one model to pull (the second's pull would hang), and a weaker model on the board.
        var store = new ScriptedAcquisition(Tiny.Id, _local, Helper) { AlsoAcquirable = ["stories260k-int8"] };
        var catalog = new ModelCatalog([Tiny, Tiny with { Id = "stories260k-int8", Bytes = 456_070 }, Helper], new Dictionary<string, IReadOnlyList<string>>());
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, _local, catalog: catalog, models: store, acquisition: store);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("Hello", target, minQuality: 0.2), CancellationToken.None);
        await store.WaitsStartedAsync(1);
        store.Fail("stories260k-int4 could not be pulled: https://huggingface.co/...: could not be reached (Name or service not known)");

        var answer = Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal((Helper.Id, true), (answer.Model, answer.Route.Degraded));
        Assert.Equal([Reasons.Quality, Reasons.NoUpstream, Reasons.AcquireFailed], answer.Route.Reasons);
        Assert.Equal(1, store.Waits);
    }

    [Fact]
    public async Task Submit_ThePullFailsAndAnUpstreamCanAnswer_IsEscalated()
    {
        var upstream = new ScriptedEscalator();
        var directory = new UpstreamDirectory();
        directory.Update(new UpstreamAdvertisement("gw-1", 1, Online: true, [Tiny with { Id = "gateway-general", Tier = 1 }], QueueDepth: 0, RoundTripMs: null));
        using var pipeline = await TestPipeline.StartAsync(
            _time, _counters, _local, upstream: new UpstreamOptions { Tier = 1 }, directory: directory, escalator: upstream,
            catalog: new ModelCatalog([Tiny], new Dictionary<string, IReadOnlyList<string>>()), models: _store, acquisition: _store);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("Hello", target), CancellationToken.None);
        await _store.WaitsStartedAsync(1);
        _store.Fail("stories260k-int4 could not be pulled: offline");
        var call = await upstream.NextCallAsync();
        call.Reply.SetResult(new UpstreamReply(System.Text.Encoding.UTF8.GetBytes("""{"text":"from the gateway","tier":1}"""), null));

        Assert.Equal("Hello", call.Request.Prompt);
        Assert.Equal("escalated", Assert.IsType<Relayed>(await target.NextAsync()).Route.Decision);
    }

    [Fact]
    public async Task Submit_ThePullOutlastsTheDeadline_IsTimeoutWhileThePullGoesOn()
    {
        using var pipeline = await StartAsync();
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("Hello", target, maxLatencyMs: 2000), CancellationToken.None);
        await _store.WaitsStartedAsync(1);
        _time.Advance(TimeSpan.FromMilliseconds(2001));

        var failure = Assert.IsType<Failure>(await target.NextAsync());
        Assert.Equal(ErrorCode.Timeout, failure.Code);
        Assert.Contains("its pull goes on", failure.Message);
    }

    [Fact]
    public async Task Submit_PastMaxAwaitingPull_IsBusy()
    {
        using var pipeline = await StartAsync(maxAwaitingPull: 1);
        var first = new RecordingReplyTarget("first");
        var second = new RecordingReplyTarget("second");

        await pipeline.SubmitAsync(Submit("Hello", first), CancellationToken.None);
        var outcome = await pipeline.SubmitAsync(Submit("Hello", second), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        Assert.Equal(ErrorCode.Busy, Assert.IsType<Failure>(await second.NextAsync()).Code);
    }

    private Task<RequestPipeline> StartAsync(int queueCapacity = 16, int maxAwaitingPull = 64) =>
        TestPipeline.StartAsync(_time, _counters, _local, queueCapacity: queueCapacity, catalog: new ModelCatalog([Tiny], new Dictionary<string, IReadOnlyList<string>>()), models: _store, acquisition: _store, maxAwaitingPull: maxAwaitingPull);

    private Submission Submit(string prompt, RecordingReplyTarget target, int? maxLatencyMs = null, double? minQuality = null)
    {
        var now = _time.GetUtcNow();
        return new Submission(new Request { Prompt = prompt, MaxLatencyMs = maxLatencyMs, MinQuality = minQuality }, now, maxLatencyMs is int ms ? now.AddMilliseconds(ms) : null, target, []);
    }
}
