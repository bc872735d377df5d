using System.Collections.Concurrent;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// Requests answered off the queue (escalations, waits for a pull): at most <paramref name="capacity"/> at
/// once, each worked on in the background, all of them awaited when the node stops.
/// </summary>
internal sealed class BackgroundRequests(int capacity)
{
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private long _started;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Starts <paramref name="work"/> when a place is free; false (nothing started) when all are taken.</summary>
    public bool TryStart(Func<Task> work)
    {
        if (Interlocked.Increment(ref _count) > capacity)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }

        long key = Interlocked.Increment(ref _started);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _running[key] = done.Task;
        _ = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _count);
                _running.TryRemove(key, out _);
                done.SetResult();
            }
        });
        return true;
    }

    /// <summary>Completes when every request started so far is done.</summary>
    public Task WhenAllDoneAsync() => Task.WhenAll(_running.Values);
}
