namespace EdgeLlm.Core.Processing;

/// <summary>
/// The pipeline's way down, as each of its parts sees it: first closed to new requests, then, past the grace
/// period (or at once when the host gives up), aborted: what still runs stops and is answered timeout.
/// </summary>
internal sealed class PipelineShutdown(TimeProvider time) : IDisposable
{
    private readonly CancellationTokenSource _abort = new(Timeout.InfiniteTimeSpan, time);
    private volatile bool _closed;

    public bool Closed => _closed;

    public CancellationToken Abort => _abort.Token;

    public bool Aborted => _abort.IsCancellationRequested;

    /// <summary>Takes no more requests, and aborts what is left after <paramref name="grace"/>.</summary>
    public void Close(TimeSpan grace)
    {
        _closed = true;
        _abort.CancelAfter(grace);
    }

    public void AbortNow() => _abort.Cancel();

    public void Dispose() => _abort.Dispose();
}
