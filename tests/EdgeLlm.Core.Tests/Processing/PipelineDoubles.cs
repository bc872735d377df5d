using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>
/// An engine whose every step the test controls: each call waits until the test releases it, then answers
/// "echo: {prompt}" (or does what the test scripted for that prompt). The real engine is tested against real
/// models elsewhere; here the pipeline's timing is what is under test.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    private readonly Channel<TaskCompletionSource> _started = Channel.CreateUnbounded<TaskCompletionSource>();

    public ConcurrentQueue<string> Prompts { get; } = new();

    /// <summary>Every call's whole chat, as the engine got it.</summary>
    public ConcurrentQueue<ChatMessage[]> Chats { get; } = new();

    /// <summary>When true, calls wait for <see cref="ReleaseNextAsync"/>; else they answer at once.</summary>
    public bool Held { get; init; }

    public Func<string, ChatOptions?, ChatResponse?>? Script { get; init; }

    /// <summary>Lets the oldest waiting call answer, once it has started.</summary>
    public async Task ReleaseNextAsync()
    {
        var call = await _started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        call.SetResult();
    }

    /// <summary>Waits until a call has started (and is held).</summary>
    public async Task<TaskCompletionSource> WaitForCallAsync() => await _started.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        string prompt = messages.Last().Text;
        Prompts.Enqueue(prompt);
        Chats.Enqueue([.. messages]);
        if (Held)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _started.Writer.WriteAsync(release, cancellationToken);
            await release.Task.WaitAsync(cancellationToken);
        }

        return Script?.Invoke(prompt, options) ?? new ChatResponse(new ChatMessage(ChatRole.Assistant, $"echo: {prompt}"))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 7 },
        };
    }

    // The whole response, then its updates: the pipeline reads every engine as a stream.
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>
/// An engine that streams: a heartbeat of the prompt read, then each of <paramref name="tokens"/> as an update,
/// and, when <paramref name="holdAfter"/>, waits after them until it is cancelled (as a generation stopped
/// between tokens), so that a test can watch chunks arrive and then cancel.
/// </summary>
internal sealed class TokenChatClient(IReadOnlyList<string> tokens, bool holdAfter = false) : IChatClient
{
    private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once every token has been handed out.</summary>
    public Task Written => _written.Task;

    public bool WasCancelled { get; private set; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, AdditionalProperties = new() { [EngineProperties.PrefillProgress] = 0.5 } };
        foreach (string token in tokens)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, token);
        }

        _written.TrySetResult();
        if (holdAfter)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                WasCancelled = true;
                throw;
            }
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 9, OutputTokenCount = tokens.Count })],
            AdditionalProperties = new() { [EngineProperties.CachedPromptTokens] = 4 },
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

internal sealed class ScriptedModels(IChatClient? client) : IModelProvider
{
    public IReadOnlyList<CatalogModel> AvailableModels => [.. LoadedModelIds.Select(id => CatalogModel.Uncatalogued(id, tier: 0))];

    public IReadOnlyList<string> LoadedModelIds => client is null ? [] : ["scripted"];

    public ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken) =>
        new(client is null ? null : new ModelLease("scripted", client));
}

/// <summary>Meters of their own for each test, as the host's IMeterFactory would make them.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    /// <summary>The meters made, so that a test listens to its own only.</summary>
    public ConcurrentBag<Meter> Created { get; } = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        Created.Add(meter);
        return meter;
    }

    public void Dispose()
    {
    }
}

/// <summary>Upstreams the tests' nodes hear of.</summary>
internal static class TestUpstreams
{
    /// <summary>Gateway gw-1 (tier 1) online, with a medical model better than anything on the board.</summary>
    public static UpstreamDirectory MedicalGateway()
    {
        var directory = new UpstreamDirectory();
        directory.Update(new UpstreamAdvertisement("gw-1", 1, Online: true, [new CatalogModel { Id = "big", Tier = 1, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["medical"] = 0.9 } }], QueueDepth: 0, RoundTripMs: null));
        return directory;
    }
}

/// <summary>A board in a known state, for the recommender.</summary>
internal sealed class FixedResources(ResourceSnapshot snapshot) : IResourceSnapshotSource
{
    public ResourceSnapshot Latest => snapshot;
}

/// <summary>A requester's reply route that records what it is sent.</summary>
internal sealed class RecordingReplyTarget(string key = "requester") : IReplyTarget
{
    private readonly Channel<Reply> _replies = Channel.CreateUnbounded<Reply>();

    public string Key => key;

    public ConcurrentQueue<Reply> Sent { get; } = new();

    public ConcurrentQueue<Chunk> Chunks { get; } = new();

    /// <summary>What the route says of each chunk: false plays a requester whose session is gone.</summary>
    public bool RequesterPresent { get; set; } = true;

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        Sent.Enqueue(reply);
        _replies.Writer.TryWrite(reply);
        return ValueTask.CompletedTask;
    }

    public Task<bool> SendChunkAsync(Chunk chunk)
    {
        Chunks.Enqueue(chunk);
        return Task.FromResult(RequesterPresent);
    }

    public async Task<Reply> NextAsync() => await _replies.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
}

/// <summary>A pipeline of node "pi-07" (tier 0) on a board in a neutral state, with the empty catalog, started.</summary>
internal static class TestPipeline
{
    /// <param name="upstream">Upstream settings; with them, <paramref name="directory"/> says who is reachable and <paramref name="escalator"/> carries the requests.</param>
    public static async Task<RequestPipeline> StartAsync(
        FakeTimeProvider time,
        NodeCounters counters,
        IChatClient? client,
        int queueCapacity = 16,
        int graceSeconds = 10,
        UpstreamOptions? upstream = null,
        UpstreamDirectory? directory = null,
        IEscalator? escalator = null,
        ModelCatalog? catalog = null,
        IModelProvider? models = null,
        IModelAcquisition? acquisition = null,
        int maxAwaitingPull = 64,
        StreamingOptions? streaming = null,
        ConversationsOptions? conversations = null,
        NodeMetrics? metrics = null)
    {
        models ??= new ScriptedModels(client);
        var admission = Create(new AdmissionOptions { QueueCapacity = queueCapacity, ShutdownGraceSeconds = graceSeconds, MaxAwaitingPull = maxAwaitingPull });
        var node = Create(new NodeOptions { Id = "pi-07", Tier = 0 });
        var upstreamOptions = Create(upstream ?? new UpstreamOptions());
        var router = new RequestRouter(
            catalog ?? ModelCatalog.Empty, new FixedResources(new ResourceSnapshot()), models, directory ?? new UpstreamDirectory(), node,
            Create(new RoutingOptions()), Create(new ModelsOptions()), admission, upstreamOptions, acquisition);
        var pipeline = new RequestPipeline(
            models, router, counters, metrics ?? new NodeMetrics(new TestMeterFactory()), admission, node, upstreamOptions, Create(streaming ?? new StreamingOptions()), Create(conversations ?? new ConversationsOptions()), time, NullLogger<RequestPipeline>.Instance, escalator, acquisition);
        await pipeline.StartAsync(CancellationToken.None);
        return pipeline;
    }
}

/// <summary>One request handed to the <see cref="ScriptedEscalator"/>; the test answers it through <see cref="Reply"/>.</summary>
internal sealed record EscalationCall(Request Request, IReadOnlyList<string> Path, DateTimeOffset GiveUpAt, EscalationWatch Watch, TaskCompletionSource<UpstreamReply?> Reply);

/// <summary>An upstream tier the test plays: each escalation waits for the test's reply (null: silence).</summary>
internal sealed class ScriptedEscalator : IEscalator
{
    private readonly Channel<EscalationCall> _calls = Channel.CreateUnbounded<EscalationCall>();

    private int _count;

    public int Count => Volatile.Read(ref _count);

    public async Task<EscalationCall> NextCallAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public Task<UpstreamReply?> EscalateAsync(Request request, IReadOnlyList<string> path, DateTimeOffset giveUpAt, EscalationWatch watch, CancellationToken cancellationToken)
    {
        var call = new EscalationCall(request, path, giveUpAt, watch, new TaskCompletionSource<UpstreamReply?>(TaskCreationOptions.RunContinuationsAsynchronously));
        Interlocked.Increment(ref _count);
        _calls.Writer.TryWrite(call);
        return call.Reply.Task.WaitAsync(cancellationToken);
    }
}

/// <summary>
/// The model store the test plays: one catalog model, absent until the test completes (or fails) its pull,
/// beside the models <paramref name="present"/> on the board from the start and <see cref="AlsoAcquirable"/>
/// ones whose pulls never end. It counts the requests that waited for a pull and the pulls started in the
/// background.
/// </summary>
internal sealed class ScriptedAcquisition(string modelId, IChatClient client, params CatalogModel[] present) : IModelAcquisition, IModelProvider
{
    private readonly TaskCompletionSource _pull = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string> _waitStarted = Channel.CreateUnbounded<string>();
    private int _waits;
    private int _backgroundPulls;

    public int Waits => Volatile.Read(ref _waits);

    public int BackgroundPulls => Volatile.Read(ref _backgroundPulls);

    /// <summary>Returns once <paramref name="count"/> more requests have started waiting for a pull (10 s at most).</summary>
    public async Task WaitsStartedAsync(int count)
    {
        for (int i = 0; i < count; i++)
        {
            await _waitStarted.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>More catalog models offered for pulls, each of which, once started, never ends.</summary>
    public IReadOnlyList<string> AlsoAcquirable { get; init; } = [];

    public IReadOnlyDictionary<string, double> Acquirable =>
        (_pull.Task.IsCompleted ? AlsoAcquirable : [modelId, .. AlsoAcquirable]).ToDictionary(id => id, _ => 100.0);

    public IReadOnlyList<PullProgress> Pulls => [];

    public IReadOnlyList<CatalogModel> AvailableModels => [.. present, .. _pull.Task.IsCompletedSuccessfully ? [CatalogModel.Uncatalogued(modelId, tier: 0)] : Array.Empty<CatalogModel>()];

    public IReadOnlyList<string> LoadedModelIds => [.. AvailableModels.Select(m => m.Id)];

    public void Complete() => _pull.SetResult();

    public void Fail(string problem) => _pull.SetException(new ModelUnavailableException(problem));

    public async Task EnsurePresentAsync(string id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waits);
        _waitStarted.Writer.TryWrite(id);
        await (id == modelId ? _pull.Task : Task.Delay(Timeout.Infinite, cancellationToken)).WaitAsync(cancellationToken);
    }

    public void StartPull(string id) => Interlocked.Increment(ref _backgroundPulls);

    public ValueTask<ModelLease?> GetAsync(string id, CancellationToken cancellationToken) =>
        new(LoadedModelIds.Contains(id) ? new ModelLease(id, client) : null);
}
