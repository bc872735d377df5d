using System.Collections.Concurrent;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Device.Gpio;

namespace EdgeLlm.Device.Tests.Gpio;

/// <summary>The node's pipeline as the board sees it: it records what is submitted and reports the activity the test sets.</summary>
internal sealed class RecordingPipeline : INodePipeline
{
    public ConcurrentQueue<Submission> Submitted { get; } = new();

    private NodeActivity _activity = new(false, 0, 0, 0, 0);
    private int _activityReads;

    public NodeActivity Activity
    {
        get
        {
            Interlocked.Increment(ref _activityReads);
            return Volatile.Read(ref _activity);
        }

        set => Volatile.Write(ref _activity, value);
    }

    /// <summary>How often the node's activity has been read: the lights' loop reads it once a tick.</summary>
    public int ActivityReads => Volatile.Read(ref _activityReads);

    public ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken)
    {
        Submitted.Enqueue(submission);
        return ValueTask.FromResult(SubmitOutcome.Queued);
    }

    // The board submits only valid requests: nothing it sends is rejected unread.
    public ValueTask RejectAsync(Failure failure, IReplyTarget replyTo, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("the board never rejects a message unread");

    public int Cancel(string id) => throw new InvalidOperationException("the board never cancels");
}

/// <summary>The node's own topics, with what is published on each.</summary>
internal sealed class RecordingTopics : INodeTopics
{
    public ConcurrentQueue<(string Topic, Reply Reply)> Published { get; } = new();

    public string NodeTopic(string relative) => $"edgellm/node/pi-07/{relative}";

    public IReplyTarget PublishTo(string topic, RequestFormat format) => new Target(topic, this);

    private sealed class Target(string topic, RecordingTopics topics) : IReplyTarget
    {
        public string Key => topic;

        public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
        {
            topics.Published.Enqueue((topic, reply));
            return ValueTask.CompletedTask;
        }

        public Task<bool> SendChunkAsync(Chunk chunk) => throw new InvalidOperationException("a button's request is not streamed");
    }
}

/// <summary>A chip that is not there.</summary>
internal sealed class MissingChip : IGpioDriverSource
{
    public System.Device.Gpio.GpioDriver Open(int chip) => throw new GpioUnavailableException($"/dev/gpiochip{chip} does not exist (this machine has no GPIO chip)");
}
