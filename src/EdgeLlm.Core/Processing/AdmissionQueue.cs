using System.Threading.Channels;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Processing;

/// <summary>A request taken for the local model, with the route the recommender chose for it.</summary>
internal sealed record Admitted(Submission Submission, Decision Decision);

/// <summary>What the queue said to a new request.</summary>
internal enum Admission
{
    Taken,

    /// <summary>No place is free.</summary>
    Full,

    /// <summary>Its requester holds its share of the places already.</summary>
    RequesterFull,
}

/// <summary>
/// The requests waiting for the local model: a bounded channel that says no when full (the caller answers
/// busy), read by the one runner. No requester holds more than <paramref name="maxPerRequester"/> places,
/// so that one chatty sensor cannot starve a panel. Closed on shutdown; what is in it is still read out.
/// </summary>
internal sealed class AdmissionQueue(int capacity, int maxPerRequester)
{
    private readonly Channel<Admitted> _channel = Channel.CreateBounded<Admitted>(new BoundedChannelOptions(capacity) { SingleReader = true });
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public int Capacity => capacity;

    public int MaxPerRequester => maxPerRequester;

    public int Depth => _channel.Reader.Count;

    /// <summary>Takes a new request when a place is free now and its requester has its share or less.</summary>
    public Admission TryTake(Submission submission, Decision decision)
    {
        lock (_lock)
        {
            if (submission.Requester is string requester && _held.GetValueOrDefault(requester) >= maxPerRequester)
            {
                return Admission.RequesterFull;
            }

            if (!_channel.Writer.TryWrite(new Admitted(submission, decision)))
            {
                return Admission.Full;
            }

            Hold(submission.Requester, 1);
            return Admission.Taken;
        }
    }

    /// <summary>Takes a request already accepted (a fallback, a pulled model's waiter) when a place is free now, whatever its requester holds.</summary>
    public bool TryAdmit(Submission submission, Decision decision)
    {
        lock (_lock)
        {
            if (!_channel.Writer.TryWrite(new Admitted(submission, decision)))
            {
                return false;
            }

            Hold(submission.Requester, 1);
            return true;
        }
    }

    /// <summary>Takes a request already accepted once a place is free; ChannelClosedException once the queue is closed.</summary>
    public async ValueTask AdmitAsync(Submission submission, Decision decision, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Hold(submission.Requester, 1);
        }

        try
        {
            await _channel.Writer.WriteAsync(new Admitted(submission, decision), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_lock)
            {
                Hold(submission.Requester, -1);
            }

            throw;
        }
    }

    /// <summary>Every request taken, in order, until the queue is closed and empty; each gives its place back as it is read.</summary>
    public async IAsyncEnumerable<Admitted> ReadAllAsync()
    {
        await foreach (var admitted in _channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            lock (_lock)
            {
                Hold(admitted.Submission.Requester, -1);
            }

            yield return admitted;
        }
    }

    public void Close() => _channel.Writer.TryComplete();

    private void Hold(string? requester, int places)
    {
        if (requester is null)
        {
            return;
        }

        int held = _held.GetValueOrDefault(requester) + places;
        if (held > 0)
        {
            _held[requester] = held;
        }
        else
        {
            _held.Remove(requester);
        }
    }
}
