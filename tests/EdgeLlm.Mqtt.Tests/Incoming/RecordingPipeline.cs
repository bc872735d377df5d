using System.Threading.Channels;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>
/// The pipeline as the front door sees it (<see cref="INodePipeline"/>): records what it is handed and answers
/// each request with its prompt reversed, through the reply route the door gave it. The real pipeline is
/// tested in Core.Tests and, behind this door, end to end in Worker.Tests.
/// </summary>
internal sealed class RecordingPipeline : INodePipeline
{
    private readonly Channel<Submission> _submitted = Channel.CreateUnbounded<Submission>();
    private readonly Channel<Failure> _rejected = Channel.CreateUnbounded<Failure>();
    private readonly Channel<string> _cancelled = Channel.CreateUnbounded<string>();
    private int _failuresToThrow;

    public NodeActivity Activity { get; } = new(false, 0, 0, 0, 0);

    /// <summary>The next submissions throw, as a pipeline with a bug would.</summary>
    public void ThrowOnNext(int count) => _failuresToThrow = count;

    public async ValueTask<SubmitOutcome> SubmitAsync(Submission submission, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failuresToThrow) >= 0)
        {
            throw new InvalidOperationException("a bug in the pipeline");
        }

        _submitted.Writer.TryWrite(submission);
        var request = submission.Request;
        await submission.ReplyTo.SendAsync(
            new Answer(request.Id, new string([.. request.LastUserText.Reverse()]), "stop", "pi-07", 0, "echo", new Route("local", ["fits"]), new Usage(1, 1), 1),
            cancellationToken);
        return SubmitOutcome.Queued;
    }

    public int Cancel(string id)
    {
        _cancelled.Writer.TryWrite(id);
        return 1;
    }

    public async Task<string> NextCancelAsync() => await _cancelled.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async ValueTask RejectAsync(Failure failure, IReplyTarget replyTo, CancellationToken cancellationToken)
    {
        _rejected.Writer.TryWrite(failure);
        await replyTo.SendAsync(failure, cancellationToken);
    }

    public async Task<Submission> NextSubmissionAsync() => await _submitted.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<Failure> NextRejectionAsync() => await _rejected.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public int Submitted => _submitted.Reader.Count;
}
