using System.Collections.Concurrent;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>A reply as a requester sees it.</summary>
internal sealed record Received(string Topic, byte[] Payload, string? Correlation, string? Type, string? Error)
{
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A sensor or panel: an MQTTnet client that asks on request topics and collects what comes back on its own
/// reply topic (MQTT 5, correlation data) or on the request topic (MQTT 3.1.1).
/// </summary>
internal sealed class TestRequester : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly SemaphoreSlim _arrivals = new(0);
    private readonly MqttClientOptions _options;

    private TestRequester(IMqttClient client, MqttClientOptions options, string replyTopic)
    {
        _client = client;
        _options = options;
        ReplyTopic = replyTopic;
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var message = e.ApplicationMessage;
            _received.Enqueue(new Received(
                message.Topic,
                System.Buffers.BuffersExtensions.ToArray(message.Payload),
                message.CorrelationData is { } data ? Encoding.UTF8.GetString(data) : null,
                Property(message, "edgellm-type"),
                Property(message, "edgellm-error")));
            _arrivals.Release();
            return Task.CompletedTask;
        };
    }

    public string ReplyTopic { get; }

    public IReadOnlyCollection<Received> All => _received;

    /// <param name="persistentSession">Keep the session (and its queued replies) across disconnections, as a fleet requester would.</param>
    /// <param name="clientId">The client id to connect as; a fresh one when null.</param>
    public static async Task<TestRequester> ConnectAsync(string server, MqttProtocolVersion version = MqttProtocolVersion.V500, bool persistentSession = false, string? subscribe = null, string? clientId = null)
    {
        var (host, port) = (server[..server.LastIndexOf(':')], int.Parse(server[(server.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        clientId ??= $"requester-{Guid.NewGuid():N}"[..24];
        var builder = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(version).WithClientId(clientId).WithTimeout(TimeSpan.FromSeconds(5));
        if (persistentSession)
        {
            builder.WithCleanStart(false).WithSessionExpiryInterval(600);
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var requester = new TestRequester(client, builder.Build(), subscribe ?? $"test/reply/{clientId}");
        await requester.ConnectAsync();
        return requester;
    }

    public async Task ConnectAsync()
    {
        var result = await _client.ConnectAsync(_options);
        if (!result.IsSessionPresent)
        {
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(ReplyTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }
    }

    /// <summary>Connects again after the broker went away, trying for some seconds while it comes back.</summary>
    public async Task ReconnectAsync()
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await ConnectAsync();
                return;
            }
            catch (Exception) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Publishes a request (QoS 1); MQTT 5 requests name this requester's reply topic and carry <paramref name="correlation"/>.</summary>
    /// <param name="traceparent">A W3C trace context to send as the user property of that name (MQTT 5).</param>
    public Task PublishAsync(string topic, byte[] payload, string? correlation = null, uint expirySeconds = 0, bool withResponseTopic = true, string? traceparent = null)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (traceparent is not null)
        {
            builder.WithUserProperty("traceparent", Encoding.UTF8.GetBytes(traceparent));
        }

        if (_options.ProtocolVersion == MqttProtocolVersion.V500 && withResponseTopic)
        {
            builder.WithResponseTopic(ReplyTopic).WithCorrelationData(Encoding.UTF8.GetBytes(correlation ?? Guid.NewGuid().ToString("N")));
        }

        if (expirySeconds > 0)
        {
            builder.WithMessageExpiryInterval(expirySeconds);
        }

        return _client.PublishAsync(builder.Build());
    }

    public Task PublishAsync(string topic, string text, string? correlation = null, uint expirySeconds = 0) =>
        PublishAsync(topic, Encoding.UTF8.GetBytes(text), correlation, expirySeconds);

    /// <summary>Asks and waits for the final reply that carries the request's correlation data (chunks of a streamed answer come before it).</summary>
    public async Task<Received> AskAsync(string topic, byte[] payload, TimeSpan? timeout = null, string? correlation = null)
    {
        correlation ??= Guid.NewGuid().ToString("N");
        await PublishAsync(topic, payload, correlation);
        return await WaitForAsync(r => r.Correlation == correlation && r.Type != "chunk", timeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>The chunks received so far that carry <paramref name="correlation"/> (null: those on <paramref name="topic"/>, as a 3.1.1 requester gets them), in order of arrival.</summary>
    public IReadOnlyList<Received> ChunksOf(string? correlation, string? topic = null) =>
        [.. _received.Where(r => r.Type == "chunk" && r.Correlation == correlation && (topic is null || r.Topic == topic))];

    public Task<Received> AskAsync(string topic, string text, TimeSpan? timeout = null, string? correlation = null) => AskAsync(topic, Encoding.UTF8.GetBytes(text), timeout, correlation);

    public async Task<Received> WaitForAsync(Func<Received, bool> match, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            if (_received.FirstOrDefault(match) is Received found)
            {
                return found;
            }

            try
            {
                await _arrivals.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching reply within {timeout.TotalSeconds} s ({_received.Count} received)");
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="count"/> messages have come, then listens <paramref name="quietFor"/> longer:
    /// the window in which a reply sent twice would show. It synchronizes nothing; the count does.
    /// </summary>
    public async Task<IReadOnlyList<Received>> WaitForCountAsync(int count, TimeSpan timeout, TimeSpan quietFor)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (_received.Count < count)
        {
            try
            {
                await _arrivals.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.Delay(quietFor);
        return [.. _received];
    }

    public Task DisconnectAsync() => _client.DisconnectAsync(new MqttClientDisconnectOptions());

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions());
        }

        _client.Dispose();
        _arrivals.Dispose();
    }

    private static string? Property(MqttApplicationMessage message, string name) =>
        message.UserProperties?.Find(p => p.Name == name)?.ValueBuffer is { } value ? Encoding.UTF8.GetString(value.Span) : null;
}
