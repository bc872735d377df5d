using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Processing;

public sealed class RequestPipelineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private readonly NodeCounters _counters = new();

    [Fact]
    public async Task Submit_RunsAndAnswersWithTheNodeAndModel()
    {
        var client = new ScriptedChatClient();
        using var pipeline = await StartAsync(client);
        var target = new RecordingReplyTarget();

        var outcome = await pipeline.SubmitAsync(Submit("Is bay 3 warm?", target, id: "r-1"), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Queued, outcome);
        var answer = Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal(new Answer("r-1", "echo: Is bay 3 warm?", "stop", "pi-07", 0, "scripted", answer.Route, new Usage(3, 7), 0), answer);
        Assert.Equal("local", answer.Route.Decision);
        Assert.Equal(["fits-local"], answer.Route.Reasons);
        Assert.Equal(1, _counters.Answers);
    }

    [Fact]
    public async Task Submit_QueueFull_AnswersBusyAtOnce()
    {
        var client = new ScriptedChatClient { Held = true };
        using var pipeline = await StartAsync(client, queueCapacity: 1);
        var running = new RecordingReplyTarget("a");
        var queued = new RecordingReplyTarget("b");
        var refused = new RecordingReplyTarget("c");

        await pipeline.SubmitAsync(Submit("first", running), CancellationToken.None);
        var call = await client.WaitForCallAsync();
        await pipeline.SubmitAsync(Submit("second", queued), CancellationToken.None);
        var outcome = await pipeline.SubmitAsync(Submit("third", refused), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        var busy = Assert.IsType<Failure>(Assert.Single(refused.Sent));
        Assert.Equal(ErrorCode.Busy, busy.Code);
        Assert.Equal("no model can answer it now: the queue is full (1 requests waiting); no upstream is reachable", busy.Message);
        call.SetResult();
        await client.ReleaseNextAsync();
        Assert.IsType<Answer>(await running.NextAsync());
        Assert.IsType<Answer>(await queued.NextAsync());
        Assert.Equal(["first", "second"], client.Prompts);
    }

    [Fact]
    public async Task Submit_ExpiringWhileQueued_IsAnsweredTimeoutAndNeverRun()
    {
        var client = new ScriptedChatClient { Held = true };
        using var pipeline = await StartAsync(client);
        var first = new RecordingReplyTarget("a");
        var second = new RecordingReplyTarget("b");

        await pipeline.SubmitAsync(Submit("long", first), CancellationToken.None);
        var call = await client.WaitForCallAsync();
        await pipeline.SubmitAsync(Submit("short", second, deadline: _time.GetUtcNow().AddSeconds(1)), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2));
        call.SetResult();

        var timeout = Assert.IsType<Failure>(await second.NextAsync());
        Assert.Equal(ErrorCode.Timeout, timeout.Code);
        Assert.Equal("the request expired after 2000 ms in the queue", timeout.Message);
        Assert.Equal(["long"], client.Prompts);
    }

    [Fact]
    public async Task Submit_AlreadyExpired_IsAnsweredTimeoutAtOnce()
    {
        using var pipeline = await StartAsync(new ScriptedChatClient());
        var target = new RecordingReplyTarget();

        var outcome = await pipeline.SubmitAsync(Submit("late", target, deadline: _time.GetUtcNow()), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        Assert.Equal(ErrorCode.Timeout, Assert.IsType<Failure>(Assert.Single(target.Sent)).Code);
    }

    [Fact]
    public async Task Submit_DeadlineReachedInTheEngine_AnswersTimeout()
    {
        var client = new ScriptedChatClient
        {
            Script = (_, options) =>
            {
                Assert.NotNull(ChatDeadline.Of(options));
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, "partial")) { FinishReason = ChatDeadline.FinishReason };
            },
        };
        using var pipeline = await StartAsync(client);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("slow", target, maxLatencyMs: 250), CancellationToken.None);

        var failure = Assert.IsType<Failure>(await target.NextAsync());
        Assert.Equal((ErrorCode.Timeout, "no answer within the deadline (250 ms)"), (failure.Code, failure.Message));
    }

    [Fact]
    public async Task Submit_RepeatedIdFromTheSameRequester_IsNotAnsweredAgain()
    {
        using var pipeline = await StartAsync(new ScriptedChatClient());
        var target = new RecordingReplyTarget("panel");
        var other = new RecordingReplyTarget("sensor");

        var first = await pipeline.SubmitAsync(Submit("hi", target, id: "same"), CancellationToken.None);
        await target.NextAsync();
        var repeat = await pipeline.SubmitAsync(Submit("hi", target, id: "same"), CancellationToken.None);
        var fromOther = await pipeline.SubmitAsync(Submit("hi", other, id: "same"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(6));
        var afterWindow = await pipeline.SubmitAsync(Submit("hi", target, id: "same"), CancellationToken.None);

        Assert.Equal((SubmitOutcome.Queued, SubmitOutcome.Duplicate, SubmitOutcome.Queued, SubmitOutcome.Queued), (first, repeat, fromOther, afterWindow));
        await target.NextAsync();
        Assert.Equal(2, target.Sent.Count);
    }

    [Fact]
    public async Task Submit_NoModel_AnswersNoModelAtOnce()
    {
        using var pipeline = await StartAsync(client: null);
        var target = new RecordingReplyTarget();

        var outcome = await pipeline.SubmitAsync(Submit("hi", target, id: "n"), CancellationToken.None);

        Assert.Equal(SubmitOutcome.Refused, outcome);
        Assert.Equal(new Failure("n", ErrorCode.NoModel, "no model can answer it now: this node has no local model; no upstream is reachable"), Assert.Single(target.Sent));
    }

    [Fact]
    public async Task Submit_EngineFails_AnswersInternalAndGoesOn()
    {
        var client = new ScriptedChatClient { Script = (prompt, _) => prompt == "boom" ? throw new InvalidOperationException("tensor shape mismatch") : null };
        using var pipeline = await StartAsync(client);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("boom", target), CancellationToken.None);
        await pipeline.SubmitAsync(Submit("fine", target), CancellationToken.None);

        Assert.Equal(new Failure(null, ErrorCode.Internal, "the model failed: tensor shape mismatch"), await target.NextAsync());
        Assert.IsType<Answer>(await target.NextAsync());
        Assert.Equal(1, _counters.Errors()["internal"]);
    }

    [Fact]
    public async Task Submit_PromptLongerThanTheContext_AnswersTooLarge()
    {
        var client = new ScriptedChatClient { Script = (_, _) => throw new PromptTooLongException("the prompt's 600 tokens leave no room in the model's context of 512") };
        using var pipeline = await StartAsync(client);
        var target = new RecordingReplyTarget();

        await pipeline.SubmitAsync(Submit("long", target), CancellationToken.None);

        Assert.Equal(ErrorCode.TooLarge, Assert.IsType<Failure>(await target.NextAsync()).Code);
    }

    [Fact]
    public async Task Stop_FinishesWhatRunsWithinTheGraceAndTimesOutTheRest()
    {
        var client = new ScriptedChatClient { Held = true };
        var pipeline = await StartAsync(client, graceSeconds: 5);
        var running = new RecordingReplyTarget("a");
        var waiting = new RecordingReplyTarget("b");
        var late = new RecordingReplyTarget("c");
        await pipeline.SubmitAsync(Submit("running", running), CancellationToken.None);
        var call = await client.WaitForCallAsync();
        await pipeline.SubmitAsync(Submit("waiting", waiting), CancellationToken.None);

        var stopping = pipeline.StopAsync(CancellationToken.None);
        var refused = await pipeline.SubmitAsync(Submit("late", late), CancellationToken.None);
        call.SetResult();
        Assert.IsType<Answer>(await running.NextAsync());
        await client.WaitForCallAsync();
        _time.Advance(TimeSpan.FromSeconds(6));
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(SubmitOutcome.Refused, refused);
        Assert.Equal(new Failure(null, ErrorCode.Busy, "the node is shutting down"), Assert.Single(late.Sent));
        Assert.Equal(new Failure(null, ErrorCode.Timeout, "the node shut down before the answer was complete"), await waiting.NextAsync());
        pipeline.Dispose();
    }

    private Task<RequestPipeline> StartAsync(IChatClient? client, int queueCapacity = 16, int graceSeconds = 10) =>
        TestPipeline.StartAsync(_time, _counters, client, queueCapacity, graceSeconds);

    private Submission Submit(string prompt, RecordingReplyTarget target, string? id = null, DateTimeOffset? deadline = null, int? maxLatencyMs = null)
    {
        var now = _time.GetUtcNow();
        return new Submission(
            new Request { Prompt = prompt, Id = id, MaxLatencyMs = maxLatencyMs },
            now,
            deadline ?? (maxLatencyMs is int ms ? now.AddMilliseconds(ms) : null),
            target);
    }
}
