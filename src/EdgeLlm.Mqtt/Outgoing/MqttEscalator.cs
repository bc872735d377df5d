using System.Collections.Concurrent;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Incoming;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>
/// Escalation over MQTT (docs/design.md §4): publishes the request envelope (QoS 1) to the upstream tier's ask
/// topic with this node's upstream topic as ResponseTopic, fresh CorrelationData, what is left of the time
/// as MessageExpiryInterval and the hop path as a user property; matches the answer by its correlation
/// data. Each escalation takes one answer: a redelivered or late one is dropped. Every answer's round trip
/// feeds the <see cref="UpstreamDirectory"/>. A streamed request's chunks (docs/design.md §3a) are passed to
/// its watcher in order, each once; a cancel is sent up, to the node that named itself in a chunk, else to
/// the whole tier's cancel topic.
/// </summary>
internal sealed partial class MqttEscalator : IEscalator, IHostedService
{
    private readonly MqttOptions _options;
    private readonly NodeOptions _node;
    private readonly UpstreamOptions _upstream;
    private readonly MqttConnection _connection;
    private readonly UpstreamDirectory _directory;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttEscalator> _logger;
    private readonly ConcurrentDictionary<Guid, Pending> _pending = new();

    public MqttEscalator(IOptions<MqttOptions> options, IOptions<NodeOptions> node, IOptions<UpstreamOptions> upstream, MqttConnection connection, UpstreamDirectory directory, TimeProvider time, ILogger<MqttEscalator> logger)
    {
        _options = options.Value;
        _node = node.Value;
        _upstream = upstream.Value;
        _connection = connection;
        _directory = directory;
        _time = time;
        _logger = logger;
    }

    /// <summary>Subscribes to this node's upstream topic when it has an upstream.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_upstream.Tier is null)
        {
            return;
        }

        var subscription = new MqttTopicFilterBuilder()
            .WithTopic(_options.UpstreamTopic(_node.Id))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        await _connection.SubscribeAsync(subscription, OnAnswerAsync, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<UpstreamReply?> EscalateAsync(Request request, IReadOnlyList<string> path, DateTimeOffset giveUpAt, EscalationWatch watch, CancellationToken cancellationToken)
    {
        int tier = _upstream.Tier ?? throw new InvalidOperationException("Upstream:Tier is not set: this node has no upstream");
        var sentAt = _time.GetUtcNow();
        var left = giveUpAt - sentAt;
        if (left <= TimeSpan.Zero)
        {
            return null;
        }

        var correlation = Guid.NewGuid();
        // The upstream sees how long it has (maxLatencyMs), and an id that makes a redelivery harmless.
        var forwarded = request with
        {
            Id = request.Id ?? $"{_node.Id}-{correlation:N}",
            MaxLatencyMs = (int)Math.Ceiling(left.TotalMilliseconds),
        };
        var pending = new Pending(new TaskCompletionSource<UpstreamReply>(TaskCreationOptions.RunContinuationsAsynchronously), sentAt, watch.OnChunk);
        _pending[correlation] = pending;
        var cancelUp = default(CancellationTokenRegistration);
        try
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(_options.TierAskTopic(tier))
                .WithPayload(RequestEnvelope.Write(forwarded))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
                .WithResponseTopic(_options.UpstreamTopic(_node.Id))
                .WithCorrelationData(correlation.ToByteArray())
                .WithMessageExpiryInterval((uint)Math.Ceiling(left.TotalSeconds))
                .WithUserProperty(MqttFrontDoor.PathProperty, System.Text.Encoding.UTF8.GetBytes(string.Join(',', path)));
            // The caller's span (the relay) goes up with it: the upper tier's spans join the trace.
            if (System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } relay)
            {
                message.WithUserProperty(NodeTracing.TraceParentProperty, System.Text.Encoding.UTF8.GetBytes(relay.Id!));
                if (relay.TraceStateString is { Length: > 0 } state)
                {
                    message.WithUserProperty(NodeTracing.TraceStateProperty, System.Text.Encoding.UTF8.GetBytes(state));
                }
            }

            _connection.Publish(message.Build());
            // After the request in the outbox: a cancel never overtakes what it cancels.
            cancelUp = watch.Cancelled.Register(() => SendCancel(forwarded.Id, tier, pending.UpstreamNode));
            return await pending.Reply.Task.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            await cancelUp.DisposeAsync().ConfigureAwait(false);
            _pending.TryRemove(correlation, out _);
        }
    }

    // Cancels go at QoS 1 like requests; the node that took the request answers it "cancelled".
    private void SendCancel(string id, int tier, string? upstreamNode)
    {
        byte[] payload = Core.JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteBoolean("cancel", true);
            json.WriteEndObject();
        });
        _connection.Publish(new MqttApplicationMessageBuilder()
            .WithTopic(upstreamNode is null ? _options.TierCancelTopic(tier) : _options.CancelTopic(upstreamNode))
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build());
    }

    private Task OnAnswerAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (MqttReplyTarget.IsChunk(message))
        {
            OnChunk(message);
            return Task.CompletedTask;
        }

        if (message.CorrelationData is not { Length: 16 } data || !_pending.TryRemove(new Guid(data), out var pending))
        {
            Log.UnmatchedAnswer(_logger, message.Topic);
            return Task.CompletedTask;
        }

        byte[] envelope = System.Buffers.BuffersExtensions.ToArray(message.Payload);
        if (Read(envelope) is not { } read)
        {
            Log.NotAnEnvelope(_logger, message.Topic);
            var failure = new Failure(null, ErrorCode.Internal, "the upstream's reply is not an answer envelope");
            pending.Reply.TrySetResult(new UpstreamReply(ReplyFormatter.Format(failure, RequestFormat.Envelope), ErrorCode.Internal));
            return Task.CompletedTask;
        }

        // The round trip is what the hop costs beyond the answering node's own time (its latencyMs).
        if (read.Tier is int tier)
        {
            _directory.RecordRoundTrip(tier, Math.Max(0, (_time.GetUtcNow() - pending.SentAt).TotalMilliseconds - (read.LatencyMs ?? 0)));
        }

        pending.Reply.TrySetResult(new UpstreamReply(envelope, read.Error));
        return Task.CompletedTask;
    }

    // An answer or error envelope as docs/design.md §3 gives them: its error code (null for an answer), and for an
    // answer the tier that answered and its own latency; null when it is neither.
    internal static (ErrorCode? Error, int? Tier, double? LatencyMs)? Read(byte[] envelope)
    {
        try
        {
            using var json = JsonPayload.Parse(envelope);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("error", out var error))
            {
                return (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String && ErrorCodeNames.TryParse(code.GetString(), out var parsed) ? parsed : ErrorCode.Internal, null, null);
            }

            int? tier = root.TryGetProperty("tier", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out int value) ? value : null;
            double? latency = root.TryGetProperty("latencyMs", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetDouble(out double ms) ? ms : null;
            return root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? (null, tier, latency) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // A chunk passed on once and in order (QoS 1 may bring one again); one of a finished escalation is dropped.
    private void OnChunk(MqttApplicationMessage message)
    {
        if (message.CorrelationData is not { Length: 16 } data || !_pending.TryGetValue(new Guid(data), out var pending) || pending.OnChunk is not { } onChunk)
        {
            Log.UnmatchedAnswer(_logger, message.Topic);
            return;
        }

        var (seq, chunk, problem) = ChunkReader.Read(System.Buffers.BuffersExtensions.ToArray(message.Payload));
        if (chunk is null)
        {
            Log.NotAChunk(_logger, message.Topic, problem!);
            return;
        }

        lock (pending)
        {
            if (seq < pending.NextSeq)
            {
                return;
            }

            pending.NextSeq = seq + 1;
            pending.UpstreamNode ??= chunk.Node;
            onChunk(chunk);
        }
    }

    private sealed record Pending(TaskCompletionSource<UpstreamReply> Reply, DateTimeOffset SentAt, Action<UpstreamChunk>? OnChunk)
    {
        public int NextSeq { get; set; }

        public string? UpstreamNode { get; set; }
    }
}
