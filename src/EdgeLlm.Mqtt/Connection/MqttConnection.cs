using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using EdgeLlm.Core.Options;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Polly;
using Polly.Retry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The node's one MQTT 5 connection: a persistent session (clean start off, a session expiry) so that QoS 1
/// requests sent while the node is away wait for it; reconnection with exponential backoff and jitter (a
/// Polly retry); subscriptions restored when the broker lost the session; and an outbox, so that a reply
/// made while the broker is down goes out once it is back, in order.
/// </summary>
internal sealed partial class MqttConnection : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(30);

    private readonly MqttOptions _options;
    private readonly NodeOptions _node;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttConnection> _logger;
    private readonly IMqttClient _client;
    private readonly Channel<MqttApplicationMessage> _outbox = Channel.CreateUnbounded<MqttApplicationMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<Subscription> _subscriptions = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ResiliencePipeline _reconnect;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _lost;
    private Task? _connectLoop;
    private Task? _publishLoop;
    private int _inFlight;
    private int _disposed;

    public MqttConnection(IOptions<MqttOptions> options, IOptions<NodeOptions> node, TimeProvider time, ILogger<MqttConnection> logger)
    {
        _options = options.Value;
        _node = node.Value;
        _time = time;
        _logger = logger;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _client.ApplicationMessageReceivedAsync += DispatchAsync;
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
    public string ClientId => $"edgellm-{_node.Id}";

    public bool IsConnected => _client.IsConnected;

    /// <summary>Starts connecting in the background; the first <see cref="SubscribeAsync"/> waits for the connection.</summary>
    public void Start()
    {
        _connectLoop = Task.Run(() => ConnectLoopAsync(_closing.Token));
        _publishLoop = Task.Run(PublishLoopAsync);
    }

    /// <summary>
    /// Subscribes once connected, and again after any reconnection that lost the session. Messages whose topic
    /// the filter matches go to <paramref name="handler"/>; the broker gets its acknowledgement when every
    /// matching handler has returned. A broker that refuses the filter (its SUBACK reason code) is a
    /// <see cref="SubscriptionRefusedException"/>, and the filter is forgotten.
    /// </summary>
    public async Task SubscribeAsync(MqttTopicFilter filter, Func<MqttApplicationMessageReceivedEventArgs, Task> handler, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(filter, handler);
        Task connected;
        lock (_lock)
        {
            _subscriptions.Add(subscription);
            connected = _connected.Task;
        }

        await connected.WaitAsync(cancellationToken).ConfigureAwait(false);
        var result = await _client.SubscribeAsync(new MqttClientSubscribeOptions { TopicFilters = [filter] }, cancellationToken).ConfigureAwait(false);
        var code = result.Items.Single().ResultCode;
        if (!SubscriptionRefusedException.IsGranted(code))
        {
            lock (_lock)
            {
                _subscriptions.Remove(subscription);
            }

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
        Interlocked.Increment(ref _inFlight);
        if (!_outbox.Writer.TryWrite(message))
        {
            Interlocked.Decrement(ref _inFlight);
            Log.DroppedAfterClose(_logger, message.Topic);
        }
    }

    /// <summary>
    /// Sends what is queued (waiting at most <paramref name="cancellationToken"/>), then disconnects asking the
    /// broker to publish the will, so that the node's status says offline at once.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        _outbox.Writer.TryComplete();
        // Sent, or the broker gone (then nothing more can go), or out of time.
        var lost = Volatile.Read(ref _lost)?.Task ?? Task.CompletedTask;
        if (_client.IsConnected && Volatile.Read(ref _inFlight) > 0)
        {
            await ((Task)Task.WhenAny(_drained.Task, lost)).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (Volatile.Read(ref _inFlight) > 0)
        {
            Log.UnsentAtClose(_logger, Volatile.Read(ref _inFlight));
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        if (_client.IsConnected)
        {
            var disconnect = new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage).Build();
            await _client.DisconnectAsync(disconnect, CancellationToken.None).ConfigureAwait(false);
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
        var result = await _client.ConnectAsync(BuildClientOptions(), cancellationToken).ConfigureAwait(false);
        Log.ConnectedToBroker(_logger, Endpoint, result.IsSessionPresent);
        if (!result.IsSessionPresent)
        {
            await RestoreSubscriptionsAsync(cancellationToken).ConfigureAwait(false);
        }

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
        MqttTopicFilter[] filters;
        lock (_lock)
        {
            filters = [.. _subscriptions.Select(s => s.Filter)];
        }

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
        await foreach (var message in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
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
                    await _client.PublishAsync(message, _closing.Token).ConfigureAwait(false);
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
        }

        // The outbox is closed and empty: everything queued was sent (or dropped, logged, at close).
        _drained.TrySetResult();
    }

    private async Task DispatchAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        Subscription[] matching;
        lock (_lock)
        {
            matching = [.. _subscriptions.Where(s => TopicFilters.Matches(s.Filter.Topic, e.ApplicationMessage.Topic))];
        }

        foreach (var subscription in matching)
        {
            await subscription.Handler(e).ConfigureAwait(false);
        }
    }

    private string Endpoint => _options.Server.Length > 0 ? _options.Server : $"embedded broker on port {_options.EmbeddedPort}";

    private MqttClientOptions BuildClientOptions()
    {
        var (host, port) = BrokerEndpoint.Of(_options);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(ClientId)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpirySeconds)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(_options.StatusTopic(_node.Id))
            .WithWillPayload(NodeStatusFormatter.Offline(_node))
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        if (_options.Username.Length > 0)
        {
            string password = _options.PasswordFile.Length > 0 ? File.ReadLines(_options.PasswordFile).FirstOrDefault() ?? "" : "";
            builder.WithCredentials(_options.Username, password);
        }

        if (_options.UseTls)
        {
            builder.WithTlsOptions(BuildTlsOptions(host));
        }

        return builder.Build();
    }

    private MqttClientTlsOptions BuildTlsOptions(string host)
    {
        var tls = new MqttClientTlsOptionsBuilder().UseTls(true).WithTargetHost(host);
        if (_options.CaFile.Length > 0)
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(_options.CaFile);
            tls.WithTrustChain(authorities);
        }

        if (_options.ClientCertFile.Length > 0)
        {
            string extension = Path.GetExtension(_options.ClientCertFile).ToLowerInvariant();
            var certificate = extension is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(_options.ClientCertFile, password: null)
                : X509Certificate2.CreateFromPemFile(_options.ClientCertFile);
            tls.WithClientCertificates([certificate]);
        }

        return tls.Build();
    }

    private sealed record Subscription(MqttTopicFilter Filter, Func<MqttApplicationMessageReceivedEventArgs, Task> Handler);
}
