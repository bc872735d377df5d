using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;
using Microsoft.Extensions.AI;

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

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

internal sealed class ScriptedModels(IChatClient? client) : IModelProvider
{
    public IReadOnlyList<string> AvailableModelIds => LoadedModelIds;

    public IReadOnlyList<string> LoadedModelIds => client is null ? [] : ["scripted"];

    public ValueTask<LoadedModel?> GetAsync(CancellationToken cancellationToken) =>
        new(client is null ? null : new LoadedModel("scripted", client));
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

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        Sent.Enqueue(reply);
        _replies.Writer.TryWrite(reply);
        return ValueTask.CompletedTask;
    }

    public async Task<Reply> NextAsync() => await _replies.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
}
