using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Tests;

/// <summary>An MQTT 5 client of the test's (a requester, an operator, another node) that records what it receives, in order.</summary>
internal sealed class RecordingClient : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly Channel<MqttApplicationMessage> _received = Channel.CreateUnbounded<MqttApplicationMessage>();
    private readonly MqttClientOptions _options;
    private int _count;

    private RecordingClient(int port, string clientId, bool persistentSession)
    {
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId(clientId);
        _options = (persistentSession ? options.WithCleanStart(false).WithSessionExpiryInterval(600) : options).Build();
        _client.ApplicationMessageReceivedAsync += e =>
        {
            Interlocked.Increment(ref _count);
            _received.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
    }

    /// <summary>How many messages it has received so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <param name="persistentSession">Keep the session (and what is queued for it) across a disconnection.</param>
    public static async Task<RecordingClient> ConnectAsync(int port, string? clientId = null, bool persistentSession = false)
    {
        var client = new RecordingClient(port, clientId ?? $"test-{Guid.NewGuid():N}"[..20], persistentSession);
        await client.ReconnectAsync();
        return client;
    }

    public async Task ReconnectAsync() => await _client.ConnectAsync(_options);

    public Task DisconnectAsync() => _client.DisconnectAsync(new MqttClientDisconnectOptions());

    public async Task SubscribeAsync(string filter) =>
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());

    public Task PublishAsync(MqttApplicationMessage message) => _client.PublishAsync(message);

    /// <summary>The next message received, failing the test when none comes within 10 s.</summary>
    public async Task<MqttApplicationMessage> NextAsync() =>
        await _received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>The next message that <paramref name="wanted"/> accepts, skipping the others.</summary>
    public async Task<MqttApplicationMessage> NextAsync(Func<MqttApplicationMessage, bool> wanted)
    {
        while (true)
        {
            var message = await NextAsync();
            if (wanted(message))
            {
                return message;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
