namespace EdgeLlm.Core.Processing;

/// <summary>
/// The requests a node has taken and not yet answered, by id, so that a cancel (docs/design.md §3a) reaches the
/// one it names wherever it is: queued, generating, escalated or waiting for a pull. A cancel names an id
/// only, so it stops every request the node holds under that id: requesters keep their ids their own.
/// </summary>
internal sealed class CancellableRequests
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<CancellationTokenSource>> _byId = new(StringComparer.Ordinal);

    /// <summary>Holds the request until its registration is disposed (its final reply sent).</summary>
    public Registration Register(string id)
    {
        var source = new CancellationTokenSource();
        lock (_lock)
        {
            if (!_byId.TryGetValue(id, out var sources))
            {
                _byId[id] = sources = [];
            }

            sources.Add(source);
        }

        return new Registration(this, id, source);
    }

    /// <summary>Cancels the requests held under <paramref name="id"/>; how many there were.</summary>
    public int Cancel(string id)
    {
        CancellationTokenSource[] sources;
        lock (_lock)
        {
            sources = _byId.TryGetValue(id, out var held) ? [.. held] : [];
        }

        foreach (var source in sources)
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Answered meanwhile.
            }
        }

        return sources.Length;
    }

    private void Release(string id, CancellationTokenSource source)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(id, out var sources) && sources.Remove(source) && sources.Count == 0)
            {
                _byId.Remove(id);
            }
        }

        source.Dispose();
    }

    /// <summary>One request's place: its cancellation, until disposed.</summary>
    public sealed class Registration(CancellableRequests owner, string id, CancellationTokenSource source) : IDisposable
    {
        private int _released;

        public CancellationToken Token { get; } = source.Token;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(id, source);
            }
        }
    }
}
