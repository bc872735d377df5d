using System.Threading.Channels;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The node's one MQTT 5 connection: a persistent session (clean start off, a session expiry) so that QoS 1
/// requests sent while the node is away wait for it; reconnection with exponential backoff and jitter (a
/// Polly retry); subscriptions made again after every reconnection; and an outbox, so that a reply
/// made while the broker is down goes out once it is back, in order.
/// </summary>
internal sealed partial class MqttConnection : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(30);

    private readonly MqttOptions _options;
    private readonly MqttPresence _presence;
    private readonly EmbeddedBrokerLogin? _login;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttConnection> _logger;
    private readonly IMqttClient _client;
    private readonly Channel<Outgoing> _outbox = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SubscriptionTable _subscriptions = new();
    private readonly Lock _lock = new();
    // The offline status must be the last message of the outbox: nothing may slip in between it and the close.
    private readonly Lock _outboxEnd = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ResiliencePipeline _reconnect;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _lost;
    private Task? _connectLoop;
    private Task? _publishLoop;
    private int _inFlight;
    private int _disposed;

    public MqttConnection(IOptions<MqttOptions> options, MqttPresence presence, TimeProvider time, ILogger<MqttConnection> logger, EmbeddedBrokerLogin? login = null)
    {
        _options = options.Value;
        _presence = presence;
        _login = login;
        _time = time;
        _logger = logger;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _client.ApplicationMessageReceivedAsync += _subscriptions.DispatchAsync;
        // From 0.5 s, doubling to 30 s, with jitter, for as long as the node runs: a broker down at boot is waited for.
        _reconnect = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder()
                .Handle<MqttCommunicationException>().Handle<InvalidOperationException>().Handle<IOException>().Handle<System.Net.Sockets.SocketException>()
                .Handle<OperationCanceledException>(_ => !_closing.IsCancellationRequested),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = FirstRetry,
            MaxDelay = LastRetry,
            MaxRetryAttempts = int.MaxValue,
            OnRetry = retry =>
            {
                Log.ConnectFailed(_logger, Endpoint, retry.Outcome.Exception?.Message ?? "", Math.Round(retry.RetryDelay.TotalSeconds, 1));
                return default;
            },
        }).Build();
    }

    /// <summary>The connection came up (first time or again); the session may or may not have survived.</summary>
    public event Func<Task>? Connected;

    /// <summary>The client id, stable per node so that the broker keeps its session.</summary>
    public string ClientId => _presence.ClientId;

    public bool IsConnected => _client.IsConnected;

    /// <summary>Starts connecting in the background; the first <see cref="SubscribeAsync"/> waits for the connection.</summary>
    public void Start()
    {
        _connectLoop = Task.Run(() => ConnectLoopAsync(_closing.Token));
        _publishLoop = Task.Run(PublishLoopAsync);
    }

    /// <summary>
    /// Subscribes once connected, and again after every reconnection. Messages whose topic
    /// the filter matches go to <paramref name="handler"/>; the broker gets its acknowledgement when every
    /// matching handler has returned. A broker that refuses the filter (its SUBACK reason code) is a
    /// <see cref="SubscriptionRefusedException"/>, and the filter is forgotten.
    /// </summary>
    public async Task SubscribeAsync(MqttTopicFilter filter, Func<MqttApplicationMessageReceivedEventArgs, Task> handler, CancellationToken cancellationToken)
    {
        var subscription = _subscriptions.Add(filter, handler);
        Task connected;
        lock (_lock)
        {
            connected = _connected.Task;
        }

        await connected.WaitAsync(cancellationToken).ConfigureAwait(false);
        var result = await _client.SubscribeAsync(new MqttClientSubscribeOptions { TopicFilters = [filter] }, cancellationToken).ConfigureAwait(false);
        var code = result.Items.Single().ResultCode;
        if (!SubscriptionRefusedException.IsGranted(code))
        {
            _subscriptions.Remove(subscription);
            throw new SubscriptionRefusedException(filter.Topic, code);
        }

        if ((int)code < (int)filter.QualityOfServiceLevel)
        {
            Log.Downgraded(_logger, filter.Topic, (int)filter.QualityOfServiceLevel, (int)code);
        }
    }

    /// <summary>Queues a message; it is published, in order, as soon as the broker can take it.</summary>
    public void Publish(MqttApplicationMessage message)
    {
        lock (_outboxEnd)
        {
            Enqueue(new Outgoing(message, null));
        }
    }

    /// <summary>
    /// Queues a message like <see cref="Publish"/>; completes, once the broker has acknowledged it, false when
    /// the broker said no subscription matched its topic (MQTT 5 PUBACK reason 0x10, for QoS 1), else true (also
    /// when it could not be sent).
    /// </summary>
    public Task<bool> PublishToSubscribersAsync(MqttApplicationMessage message)
    {
        var delivered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_outboxEnd)
        {
            Enqueue(new Outgoing(message, delivered));
        }

        return delivered.Task;
    }

    /// <summary>
    /// Says the node is offline (retained, on its status topic), sends that and what is queued before it
    /// (waiting at most <paramref name="cancellationToken"/>), then disconnects. The status is a message of its
    /// own, not left to the will: MQTTnet.Server, another node's embedded broker, does not publish the will on
    /// a DISCONNECT that asks for it (MQTT 5 §3.14.2.1). The will is asked for still when something is unsent.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        lock (_outboxEnd)
        {
            if (_client.IsConnected && _presence.OfflineStatus is { } offline)
            {
                Enqueue(new Outgoing(offline, null));
            }

            _outbox.Writer.TryComplete();
        }

        // Sent, or the broker gone (then nothing more can go), or out of time.
        var lost = Volatile.Read(ref _lost)?.Task ?? Task.CompletedTask;
        if (_client.IsConnected && Volatile.Read(ref _inFlight) > 0)
        {
            await ((Task)Task.WhenAny(_drained.Task, lost)).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        int unsent = Volatile.Read(ref _inFlight);
        if (unsent > 0)
        {
            Log.UnsentAtClose(_logger, unsent);
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        if (_client.IsConnected)
        {
            var reason = unsent > 0 ? MqttClientDisconnectOptionsReason.DisconnectWithWillMessage : MqttClientDisconnectOptionsReason.NormalDisconnection;
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(reason).Build(), CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        _outbox.Writer.TryComplete();
        foreach (var loop in new[] { _connectLoop, _publishLoop })
        {
            if (loop is not null)
            {
                await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        _client.Dispose();
        _closing.Dispose();
    }

    private void Enqueue(Outgoing outgoing)
    {
        Interlocked.Increment(ref _inFlight);
        if (!_outbox.Writer.TryWrite(outgoing))
        {
            Interlocked.Decrement(ref _inFlight);
            Log.DroppedAfterClose(_logger, outgoing.Message.Topic);
            outgoing.Delivered?.TrySetResult(true);
        }
    }

    private async Task ConnectLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TaskCompletionSource lost;
            try
            {
                lost = await _reconnect.ExecuteAsync(ConnectOnceAsync, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            // Nothing to do until the connection drops.
            await lost.Task.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // One attempt: connected, the session's subscriptions there again, and everyone told; the signal of its loss.
    private async ValueTask<TaskCompletionSource> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _lost, lost);
        var result = await _client.ConnectAsync(NodeClientOptions.Build(_options, _presence, _login), cancellationToken).ConfigureAwait(false);
        Log.ConnectedToBroker(_logger, Endpoint, result.IsSessionPresent);
        // Again after every connection, even when the broker says it kept the session: Mosquitto 2.0.11
        // brings a session back from its persistence file without its shared subscriptions (a gateway was deaf
        // to its tier after the broker's restart, BridgedSitesTests), and subscribing to what is there changes nothing.
        await RestoreSubscriptionsAsync(cancellationToken).ConfigureAwait(false);

        lock (_lock)
        {
            _connected.TrySetResult();
        }

        if (Connected is { } connected)
        {
            await connected().ConfigureAwait(false);
        }

        return lost;
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        Volatile.Read(ref _lost)?.TrySetResult();
        if (e.ClientWasConnected)
        {
            lock (_lock)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (!_closing.IsCancellationRequested)
            {
                Log.Disconnected(_logger, Endpoint, e.Reason.ToString(), e.Exception?.Message ?? "");
            }
        }

        return Task.CompletedTask;
    }

    private async Task RestoreSubscriptionsAsync(CancellationToken cancellationToken)
    {
        var filters = _subscriptions.Filters;
        if (filters.Length > 0)
        {
            // Granted once, so a refusal now is the broker's change of mind (an ACL edited): said, not fatal.
            var result = await _client.SubscribeAsync(new MqttClientSubscribeOptions { TopicFilters = [.. filters] }, cancellationToken).ConfigureAwait(false);
            foreach (var item in result.Items.Where(i => !SubscriptionRefusedException.IsGranted(i.ResultCode)))
            {
                Log.RestoreRefused(_logger, item.TopicFilter.Topic, item.ResultCode.ToString());
            }
        }
    }

    // One message at a time, in order; a message that fails waits for the connection and goes again.
    private async Task PublishLoopAsync()
    {
        await foreach (var (message, delivered) in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            bool reachedSubscribers = true;
            while (true)
            {
                try
                {
                    Task connected;
                    lock (_lock)
                    {
                        connected = _connected.Task;
                    }

                    await connected.WaitAsync(_closing.Token).ConfigureAwait(false);
                    var result = await _client.PublishAsync(message, _closing.Token).ConfigureAwait(false);
                    reachedSubscribers = result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers;
                    break;
                }
                catch (OperationCanceledException) when (_closing.IsCancellationRequested)
                {
                    Log.DroppedAfterClose(_logger, message.Topic);
                    break;
                }
                catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException or InvalidOperationException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _time, _closing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            Interlocked.Decrement(ref _inFlight);
            delivered?.TrySetResult(reachedSubscribers);
        }

        // The outbox is closed and empty: everything queued was sent (or dropped, logged, at close).
        _drained.TrySetResult();
    }

    /// <summary>A message waiting to go, and who waits to hear whether it reached a subscriber.</summary>
    private sealed record Outgoing(MqttApplicationMessage Message, TaskCompletionSource<bool>? Delivered);

    private string Endpoint => _options.Server.Length > 0 ? _options.Server : $"embedded broker on port {_options.EmbeddedPort}";
}
