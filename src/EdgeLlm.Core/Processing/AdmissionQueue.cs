using System.Threading.Channels;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Processing;

/// <summary>A request taken for the local model, with the route the recommender chose for it.</summary>
internal sealed record Admitted(Submission Submission, Decision Decision);

/// <summary>
/// The requests waiting for the local model: a bounded channel that says no when full (the caller answers
/// busy), read by the one runner. Closed on shutdown; what is in it is still read out.
/// </summary>
internal sealed class AdmissionQueue(int capacity)
{
    private readonly Channel<Admitted> _channel = Channel.CreateBounded<Admitted>(new BoundedChannelOptions(capacity) { SingleReader = true });

    public int Capacity => capacity;

    public int Depth => _channel.Reader.Count;

    /// <summary>Takes it when there is room now.</summary>
    public bool TryAdmit(Submission submission, Decision decision) => _channel.Writer.TryWrite(new Admitted(submission, decision));

    /// <summary>Takes it once there is room; ChannelClosedException once the queue is closed.</summary>
    public ValueTask AdmitAsync(Submission submission, Decision decision, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(new Admitted(submission, decision), cancellationToken);

    /// <summary>Every request taken, in order, until the queue is closed and empty.</summary>
    public IAsyncEnumerable<Admitted> ReadAllAsync() => _channel.Reader.ReadAllAsync(CancellationToken.None);

    public void Close() => _channel.Writer.TryComplete();
}
