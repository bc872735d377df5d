using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// The chunks of one streamed answer (docs/design.md §3a): numbered from 0 without gaps, text coalesced to at
/// most one chunk per Streaming:IntervalMs, a heartbeat every Streaming:HeartbeatMs while the prompt is read,
/// and the answering node named on the first. A chunk the route says nobody receives any more cancels
/// <see cref="RequesterGone"/>, so that the model is freed.
/// </summary>
internal sealed class ChunkStream : IDisposable
{
    private readonly IReplyTarget _target;
    private readonly string? _requestId;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _heartbeatPeriod;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _gone = new();
    private readonly Lock _lock = new();
    private readonly StringBuilder _held = new();
    private readonly StringBuilder _written = new();
    private ITimer? _heartbeat;
    private string? _node;
    private double _progress;
    private int _sent;
    private DateTimeOffset _lastSent;
    private bool _textSent;
    private bool _completed;

    public ChunkStream(IReplyTarget target, string? requestId, StreamingOptions options, TimeProvider time)
    {
        _target = target;
        _requestId = requestId;
        _interval = TimeSpan.FromMilliseconds(options.IntervalMs);
        _heartbeatPeriod = TimeSpan.FromMilliseconds(options.HeartbeatMs);
        _time = time;
    }

    /// <summary>Cancelled when the route said a chunk reached nobody: the requester is gone.</summary>
    public CancellationToken RequesterGone => _gone.Token;

    /// <summary>Chunks sent so far.</summary>
    public int Sent
    {
        get
        {
            lock (_lock)
            {
                return _sent;
            }
        }
    }

    /// <summary>All the text the chunks carry (sent or held).</summary>
    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _written.ToString();
            }
        }
    }

    /// <summary>Heartbeats from now until the first text: <paramref name="node"/> is reading the prompt.</summary>
    public void StartPrefill(string node)
    {
        lock (_lock)
        {
            _node ??= node;
            _heartbeat ??= _time.CreateTimer(_ => Beat(), null, _heartbeatPeriod, _heartbeatPeriod);
        }
    }

    /// <summary>The share of the prompt read so far, for the next heartbeat.</summary>
    public void Prefill(double progress)
    {
        lock (_lock)
        {
            _progress = Math.Clamp(progress, 0, 1);
        }
    }

    /// <summary>Text written; sent now unless a chunk went out less than the interval ago (then with the next).</summary>
    /// <param name="node">The node that writes it, when the text is relayed from another.</param>
    public void Delta(string text, string? node = null)
    {
        lock (_lock)
        {
            StopHeartbeat();
            _node ??= node;
            _held.Append(text);
            _written.Append(text);
            // The first text goes at once: it is what the requester waits for.
            if (!_textSent || _time.GetUtcNow() - _lastSent >= _interval)
            {
                SendHeld();
            }
        }
    }

    /// <summary>An upstream's chunk, passed on: renumbered, its text coalesced as this node's own.</summary>
    public void Relay(UpstreamChunk chunk)
    {
        if (chunk.PrefillProgress is double progress)
        {
            Heartbeat(progress, chunk.Node);
        }
        else if (chunk.Delta is { Length: > 0 } text)
        {
            Delta(text, chunk.Node);
        }
    }

    private void Heartbeat(double progress, string? node)
    {
        lock (_lock)
        {
            _node ??= node;
            if (!_completed)
            {
                Send(new Chunk(_requestId, _sent, null, null, Math.Clamp(progress, 0, 1)));
            }
        }
    }

    /// <summary>Sends the text still held and ends the stream; the number of chunks sent, for the final reply.</summary>
    public int Complete()
    {
        lock (_lock)
        {
            StopHeartbeat();
            SendHeld();
            _completed = true;
            return _sent;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            StopHeartbeat();
            _completed = true;
        }

        _gone.Dispose();
    }

    private void Beat()
    {
        lock (_lock)
        {
            if (_heartbeat is not null && !_completed)
            {
                Send(new Chunk(_requestId, _sent, null, null, _progress));
            }
        }
    }

    private void SendHeld()
    {
        if (_held.Length > 0 && !_completed)
        {
            Send(new Chunk(_requestId, _sent, null, _held.ToString(), null));
            _held.Clear();
            _textSent = true;
        }
    }

    // Under the lock, so that the sequence numbers go out in order.
    private void Send(Chunk chunk)
    {
        var numbered = _sent == 0 ? chunk with { Node = _node } : chunk;
        _sent++;
        _lastSent = _time.GetUtcNow();
        _target.SendChunkAsync(numbered).ContinueWith(
            (delivered, state) =>
            {
                if (delivered.IsCompletedSuccessfully && !delivered.Result)
                {
                    ((ChunkStream)state!).SignalGone();
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void SignalGone()
    {
        try
        {
            _gone.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The answer was complete before the route told: nothing is left to free.
        }
    }

    private void StopHeartbeat()
    {
        _heartbeat?.Dispose();
        _heartbeat = null;
    }
}
