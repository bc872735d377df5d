using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>
/// Streamed answers through the pipeline (docs/design.md §3a): chunks numbered without gaps that add up to the
/// final text, the heartbeat while the prompt is read, cancels wherever the request is, a requester gone, and
/// an upstream's chunks relayed. The time is the test's, so that what is coalesced is known.
/// </summary>
public sealed class StreamingTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly NodeCounters _counters = new();

    [Fact]
    public async Task Stream_ChunksAddUpToTheFinalText_NumberedFromZero_TheFirstNamingTheNode()
    {
        var engine = new TokenChatClient(["Once", " upon", " a", " time"]);
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, engine);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Streamed("tell a story", target, id: "s-1"), CancellationToken.None);
        var answer = Assert.IsType<Answer>(await target.NextAsync());

        var chunks = target.Chunks.ToArray();
        Assert.Equal(Enumerable.Range(0, chunks.Length), chunks.Select(c => c.Seq));
        Assert.Equal("pi-07", chunks[0].Node);
        Assert.All(chunks.Skip(1), c => Assert.Null(c.Node));
        Assert.Equal("Once upon a time", string.Concat(chunks.Select(c => c.Delta)));
        Assert.Equal(("Once upon a time", chunks.Length, 4), (answer.Text, answer.Chunks, answer.Usage.CachedPromptTokens));
        // The clock stood still: the first text went at once, the rest was held for one more chunk at the end.
        Assert.Equal(2, chunks.Length);
    }

    [Fact]
    public async Task Stream_NotAskedFor_SendsNoChunks()
    {
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, new TokenChatClient(["a", "b"]));
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "hi", Format = RequestFormat.Envelope }, _time.GetUtcNow(), null, target), CancellationToken.None);

        var answer = Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal(("ab", (int?)null), (answer.Text, answer.Chunks));
        Assert.Empty(target.Chunks);
    }

    [Fact]
    public void ChunkStream_CoalescesWithinTheInterval_AndBeatsWhileThePromptIsRead()
    {
        var target = new RecordingReplyTarget();
        using var stream = new ChunkStream(target, "s-2", new StreamingOptions { IntervalMs = 100, HeartbeatMs = 1000 }, _time);

        stream.StartPrefill("pi-07");
        stream.Prefill(0.25);
        _time.Advance(TimeSpan.FromMilliseconds(1000));
        stream.Prefill(0.75);
        _time.Advance(TimeSpan.FromMilliseconds(1000));
        stream.Delta("A");
        stream.Delta("B");
        _time.Advance(TimeSpan.FromMilliseconds(60));
        stream.Delta("C");
        _time.Advance(TimeSpan.FromMilliseconds(60));
        stream.Delta("D");
        _time.Advance(TimeSpan.FromMilliseconds(5000));
        int count = stream.Complete();

        var chunks = target.Chunks.ToArray();
        Assert.Equal(
            [(0, "pi-07", null, (double?)0.25), (1, null, null, 0.75), (2, null, "A", null), (3, null, "BCD", null)],
            chunks.Select(c => (c.Seq, c.Node, c.Delta, c.PrefillProgress)));
        Assert.Equal(4, count);
    }

    [Fact]
    public async Task Cancel_MidGeneration_StopsIt_AndTheFinalAnswerKeepsWhatWasWritten()
    {
        var engine = new TokenChatClient(["Once", " upon"], holdAfter: true);
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, engine);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Streamed("tell a story", target, id: "s-3"), CancellationToken.None);
        await engine.Written;
        int cancelled = pipeline.Cancel("s-3");
        var answer = Assert.IsType<Answer>(await target.NextAsync());

        Assert.Equal(1, cancelled);
        Assert.True(engine.WasCancelled);
        Assert.Equal(("cancelled", "Once upon"), (answer.FinishReason, answer.Text));
        Assert.Equal(answer.Text, string.Concat(target.Chunks.Select(c => c.Delta)));
        Assert.Equal(0, pipeline.Cancel("s-3"));
    }

    [Fact]
    public async Task Cancel_WhileQueued_AnswersCancelledWithoutRunningIt()
    {
        var busy = new ScriptedChatClient { Held = true };
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, busy);
        var first = new RecordingReplyTarget("first");
        var second = new RecordingReplyTarget("second");

        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "one", Id = "q-1" }, _time.GetUtcNow(), null, first), CancellationToken.None);
        await pipeline.SubmitAsync(new Submission(new Request { Prompt = "two", Id = "q-2" }, _time.GetUtcNow(), null, second), CancellationToken.None);
        var running = await busy.WaitForCallAsync();
        pipeline.Cancel("q-2");
        running.SetResult();

        var answer = Assert.IsType<Answer>(await second.NextAsync());
        Assert.Equal(("cancelled", ""), (answer.FinishReason, answer.Text));
        Assert.Equal(["one"], busy.Prompts);
    }

    [Fact]
    public async Task RequesterGone_TheRouteSaysNobodyReceivesTheChunks_TheGenerationStops()
    {
        var engine = new TokenChatClient(["Once", " upon"], holdAfter: true);
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, engine);
        var target = new RecordingReplyTarget { RequesterPresent = false };

        await pipeline.SubmitAsync(Streamed("tell a story", target, id: "s-4"), CancellationToken.None);
        var answer = Assert.IsType<Answer>(await target.NextAsync());

        Assert.True(engine.WasCancelled);
        Assert.Equal("cancelled", answer.FinishReason);
    }

    [Fact]
    public async Task Escalated_TheUpstreamsChunksAreRelayedRenumbered_AndACancelGoesUp()
    {
        var escalator = new ScriptedEscalator();
        var directory = TestUpstreams.MedicalGateway();
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, client: null, upstream: new UpstreamOptions { Tier = 1 }, directory: directory, escalator: escalator);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Streamed("a long question", target, id: "s-5"), CancellationToken.None);
        var call = await escalator.NextCallAsync();
        call.Watch.OnChunk!(new UpstreamChunk("gw-1", null, 0.5));
        call.Watch.OnChunk(new UpstreamChunk(null, "Big", null));
        pipeline.Cancel("s-5");
        call.Reply.SetResult(new UpstreamReply(Encoding.UTF8.GetBytes("""{"id":"s-5","text":"Big","finishReason":"cancelled","tier":1,"chunks":2,"route":{"decision":"local","reasons":[]}}"""), null));
        var relayed = Assert.IsType<Relayed>(await target.NextAsync());

        Assert.True(call.Request.Stream);
        Assert.True(call.Watch.Cancelled.IsCancellationRequested);
        Assert.Equal([(0, "gw-1", null, (double?)0.5), (1, null, "Big", null)], target.Chunks.Select(c => (c.Seq, c.Node, c.Delta, c.PrefillProgress)));
        Assert.Equal(2, relayed.Chunks);
    }

    [Fact]
    public async Task Escalated_UpstreamSilentAfterSomeChunks_IsAnErrorNotALocalAnswer()
    {
        var escalator = new ScriptedEscalator();
        var directory = TestUpstreams.MedicalGateway();
        var local = new ScriptedChatClient();
        using var pipeline = await TestPipeline.StartAsync(_time, _counters, local, upstream: new UpstreamOptions { Tier = 1, Fallback = UpstreamOptions.DegradedLocal }, directory: directory, escalator: escalator);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Streamed("a long question", target, id: "s-6", domain: "medical"), CancellationToken.None);
        var call = await escalator.NextCallAsync();
        call.Watch.OnChunk!(new UpstreamChunk("gw-1", "Half", null));
        call.Reply.SetResult(null);
        var failure = Assert.IsType<Failure>(await target.NextAsync());

        Assert.Equal(ErrorCode.UpstreamUnavailable, failure.Code);
        Assert.Contains("after 1 chunks", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, failure.Chunks);
        Assert.Empty(local.Prompts);
    }

    private Submission Streamed(string prompt, RecordingReplyTarget target, string id, string? domain = null) =>
        new(new Request { Prompt = prompt, Id = id, Stream = true, Domain = domain, Format = RequestFormat.Envelope }, _time.GetUtcNow(), null, target);
}
