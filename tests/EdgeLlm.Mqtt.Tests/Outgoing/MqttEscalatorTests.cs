using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Outgoing;

/// <summary>The escalator against a real Mosquitto, with the test playing the upstream tier.</summary>
public sealed class MqttEscalatorTests : IAsyncLifetime, IAsyncDisposable
{
    private static readonly EscalationWatch Unwatched = new(null, CancellationToken.None);

    private readonly string _prefix = $"esc{Guid.NewGuid():N}"[..11];
    private readonly UpstreamDirectory _directory = new();
    private MosquittoBroker? _broker;
    private MqttConnection? _connection;
    private MqttEscalator? _escalator;
    private IMqttClient? _upstream;
    private readonly Channel<MqttApplicationMessage> _asked = Channel.CreateUnbounded<MqttApplicationMessage>();

    public async Task InitializeAsync()
    {
        if (!MosquittoBroker.Available)
        {
            return;
        }

        _broker = await MosquittoBroker.StartAsync();
        var mqtt = Create(new MqttOptions { Server = _broker.Server, TopicPrefix = _prefix });
        var node = Create(new NodeOptions { Id = "pi-07" });
        _connection = new MqttConnection(mqtt, MqttPresence.Node(mqtt.Value, node.Value), TimeProvider.System, NullLogger<MqttConnection>.Instance);
        _escalator = new MqttEscalator(mqtt, node, Create(new UpstreamOptions { Tier = 1 }), _connection, _directory, TimeProvider.System, NullLogger<MqttEscalator>.Instance);
        _connection.Start();
        await _escalator.StartAsync(CancellationToken.None);

        var (host, port) = BrokerEndpoint.Parse(_broker.Server);
        _upstream = new MqttClientFactory().CreateMqttClient();
        _upstream.ApplicationMessageReceivedAsync += e =>
        {
            _asked.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        await _upstream.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId("gateway").Build());
        await _upstream.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter($"$share/edgellm-tier1/{_prefix}/tier/1/ask", MqttQualityOfServiceLevel.AtLeastOnce).Build());
    }

    [MosquittoFact]
    public async Task Escalate_PublishesTheEnvelopeAsDesignSays_AndTakesTheFirstAnswerOnly()
    {
        var request = new Request { Prompt = "fever", Domain = "medical", MaxLatencyMs = 9000 };
        var giveUpAt = TimeProvider.System.GetUtcNow().AddSeconds(5);

        var escalation = _escalator!.EscalateAsync(request, ["sensor-hub", "pi-07"], giveUpAt, Unwatched, CancellationToken.None);
        var asked = await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await AnswerAsync(asked, """{"id": "x", "text": "rest and fluids", "tier": 1, "latencyMs": 30}""");
        await AnswerAsync(asked, """{"id": "x", "text": "a second answer", "tier": 1, "latencyMs": 30}""");
        var reply = await escalation.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal($"{_prefix}/tier/1/ask", asked.Topic);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, asked.QualityOfServiceLevel);
        Assert.Equal($"{_prefix}/node/pi-07/upstream", asked.ResponseTopic);
        Assert.Equal(16, asked.CorrelationData.Length);
        Assert.InRange(asked.MessageExpiryInterval, 4u, 5u);
        Assert.Equal("sensor-hub,pi-07", Encoding.UTF8.GetString(asked.UserProperties.Single(p => p.Name == "edgellm-path").ValueBuffer.Span));
        var envelope = JsonDocument.Parse(asked.Payload).RootElement;
        Assert.Equal(("fever", "medical"), (envelope.GetProperty("prompt").GetString(), envelope.GetProperty("domain").GetString()));
        Assert.StartsWith("pi-07-", envelope.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.InRange(envelope.GetProperty("maxLatencyMs").GetInt32(), 4000, 5000);
        Assert.NotNull(reply);
        Assert.Null(reply.Error);
        Assert.Equal("rest and fluids", JsonDocument.Parse(reply.Envelope).RootElement.GetProperty("text").GetString());
        Assert.NotNull(_directory.RoundTripMs(1));
    }

    [MosquittoFact]
    public async Task Escalate_SilentUpstream_GivesNullAtTheGivenTime_AndALateAnswerIsDropped()
    {
        var started = TimeProvider.System.GetUtcNow();

        var reply = await _escalator!.EscalateAsync(new Request { Prompt = "fever" }, ["pi-07"], started.AddMilliseconds(400), Unwatched, CancellationToken.None);
        var asked = await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await AnswerAsync(asked, """{"text": "too late", "tier": 1}""");

        Assert.Null(reply);
        Assert.InRange(TimeProvider.System.GetUtcNow() - started, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(5));
        Assert.Null(_directory.RoundTripMs(1));
    }

    [MosquittoFact]
    public async Task Escalate_UpstreamError_ComesBackWithItsCode_AndAnAnswerThatIsNoEnvelopeAsInternal()
    {
        var giveUpAt = TimeProvider.System.GetUtcNow().AddSeconds(5);

        var busy = _escalator!.EscalateAsync(new Request { Prompt = "one" }, ["pi-07"], giveUpAt, Unwatched, CancellationToken.None);
        await AnswerAsync(await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)), """{"id": null, "error": {"code": "busy", "message": "queue full"}}""");
        var garbled = _escalator.EscalateAsync(new Request { Prompt = "two" }, ["pi-07"], giveUpAt, Unwatched, CancellationToken.None);
        await AnswerAsync(await _asked.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)), "not json at all");

        Assert.Equal(ErrorCode.Busy, (await busy.WaitAsync(TimeSpan.FromSeconds(10)))!.Error);
        var internalError = (await garbled.WaitAsync(TimeSpan.FromSeconds(10)))!;
        Assert.Equal(ErrorCode.Internal, internalError.Error);
        Assert.Equal("the upstream's reply is not an answer envelope", JsonDocument.Parse(internalError.Envelope).RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    Task IAsyncLifetime.DisposeAsync() => DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        _upstream?.Dispose();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }

    private Task<MqttClientPublishResult> AnswerAsync(MqttApplicationMessage asked, string payload) =>
        _upstream!.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(asked.ResponseTopic)
            .WithCorrelationData(asked.CorrelationData)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithUserProperty("edgellm-type", "answer"u8.ToArray())
            .Build());
}
