using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Incoming;

/// <summary>
/// The node's MQTT side (docs/design.md §3, §3a, §4): starts the embedded broker when no fleet broker is configured,
/// connects, subscribes to the request filter, to its tier's ask topic and to its own ask topic
/// ({prefix}/node/{nodeId}/ask, where a panel goes on talking to the node that keeps its conversation), and hands each request to
/// the pipeline with the hop path it came by. It starts first and
/// stops last, so that the pipeline's final replies still go out; on stopping, requests that arrive are left
/// unacknowledged for the broker to deliver again when the node is back.
/// </summary>
internal sealed partial class MqttFrontDoor : IHostedService
{
    /// <summary>The user property that carries an escalated request's hop path: node ids, first to last, comma-separated.</summary>
    public const string PathProperty = "edgellm-path";

    private readonly MqttOptions _options;
    private readonly NodeOptions _node;
    private readonly MqttConnection _connection;
    private readonly INodePipeline _pipeline;
    private readonly AdmissionOptions _admission;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttFrontDoor> _logger;
    private readonly EmbeddedBroker? _broker;
    private volatile bool _stopping;

    public MqttFrontDoor(IOptions<MqttOptions> options, IOptions<NodeOptions> node, MqttConnection connection, INodePipeline pipeline, IOptions<AdmissionOptions> admission, TimeProvider time, ILogger<MqttFrontDoor> logger, EmbeddedBrokerLogin? login = null)
    {
        _options = options.Value;
        _node = node.Value;
        _connection = connection;
        _pipeline = pipeline;
        _admission = admission.Value;
        _time = time;
        _logger = logger;
        _broker = _options.Server.Length == 0 ? new EmbeddedBroker(_options, time, logger, login) : null;
    }

    /// <summary>Returns once the request filters are subscribed, so that a service manager hears "ready" only then.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_broker is not null)
        {
            await _broker.StartAsync().ConfigureAwait(false);
        }

        _connection.Start();
        // A refused request filter stops the start: a node that hears no requests must not look ready.
        await SubscribeAsync(_options.EffectiveRequestTopic, cancellationToken).ConfigureAwait(false);
        string tier = await SubscribeToTierAsync(cancellationToken).ConfigureAwait(false);
        await SubscribeAsync(_options.NodeAskTopic(_node.Id), cancellationToken).ConfigureAwait(false);
        Log.Listening(_logger, $"{(_options.EffectiveRequestTopic == tier ? tier : $"{_options.EffectiveRequestTopic}, {tier}")} and {_options.NodeAskTopic(_node.Id)}");
    }

    /// <summary>Keeps the subscription in the broker's session (requests wait there for the next start), sends what is queued, and goes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        await _connection.CloseAsync(cancellationToken).ConfigureAwait(false);
        if (_broker is not null)
        {
            await _broker.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The tier's ask topic, shared with the other nodes of the tier so that the broker spreads the work. On
    // the embedded broker (MQTTnet.Server has no shared subscriptions) the node is alone and subscribes
    // plainly; so it does, with a warning, on any broker that refuses shared subscriptions, such as another
    // node's embedded broker. Returns the filter subscribed.
    private async Task<string> SubscribeToTierAsync(CancellationToken cancellationToken)
    {
        string plain = _options.TierAskTopic(_node.Tier);
        string shared = _options.TierSubscription(_node.Tier);
        if (_options.EffectiveRequestTopic == plain || _options.EffectiveRequestTopic == shared)
        {
            return _options.EffectiveRequestTopic;
        }

        if (_broker is not null)
        {
            await SubscribeAsync(plain, cancellationToken).ConfigureAwait(false);
            return plain;
        }

        try
        {
            await SubscribeAsync(shared, cancellationToken).ConfigureAwait(false);
            return shared;
        }
        catch (SubscriptionRefusedException e) when (e.Reason == MqttClientSubscribeResultCode.SharedSubscriptionsNotSupported)
        {
            Log.NoSharedSubscriptions(_logger, shared, plain);
            await SubscribeAsync(plain, cancellationToken).ConfigureAwait(false);
            return plain;
        }
    }

    private Task SubscribeAsync(string filter, CancellationToken cancellationToken)
    {
        // MQTT 5 forbids NoLocal on shared subscriptions; there the answer property alone tells answers apart.
        var subscription = new MqttTopicFilterBuilder()
            .WithTopic(filter)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithNoLocal(!TopicFilters.IsShared(filter))
            .WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe)
            .Build();
        return _connection.SubscribeAsync(subscription, OnMessageAsync, cancellationToken);
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (MqttReplyTarget.IsReply(message) || (TopicFilters.Matches(_options.NodeTopicsFilter, message.Topic) && message.Topic != _options.NodeAskTopic(_node.Id)))
        {
            return;
        }

        if (_stopping)
        {
            e.AutoAcknowledge = false;
            return;
        }

        var receivedAt = _time.GetUtcNow();
        var parsed = RequestParser.Parse(message.Payload, _admission.MaxPromptBytes);
        if (!string.IsNullOrEmpty(message.ResponseTopic) && ResponseTopicRule.WhyNot(message.ResponseTopic, _options) is string forbidden)
        {
            // Refused, counted and logged like any bad request; its reply goes nowhere.
            await _pipeline.RejectAsync(new Failure(parsed.Request?.Id, ErrorCode.BadRequest, $"the ResponseTopic '{message.ResponseTopic}' {forbidden}"), new UnsentReplyTarget(message.ResponseTopic), CancellationToken.None).ConfigureAwait(false);
            return;
        }

        string replyTopic = string.IsNullOrEmpty(message.ResponseTopic) ? message.Topic : message.ResponseTopic;
        var replyTo = new MqttReplyTarget(_connection, replyTopic, message.CorrelationData, parsed.Format);
        try
        {
            if (parsed.Request is not Request request)
            {
                await _pipeline.RejectAsync(parsed.Failure!, replyTo, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            string[] path = HopPath(message);
            var submission = new Submission(request, receivedAt, Deadline(request, message, receivedAt), replyTo, path) { TraceContext = TraceContext(message), Requester = Requester(message, path) };
            await _pipeline.SubmitAsync(submission, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // A request that breaks the door still gets its one reply, and the door stays open.
            Log.HandlingFailed(_logger, exception, message.Topic);
            await replyTo.SendAsync(new Failure(parsed.Request?.Id, ErrorCode.Internal, "the node failed to take the request"), CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The requester's (or the lower tier's) W3C trace context, when it sent one that parses.
    private static System.Diagnostics.ActivityContext TraceContext(MqttApplicationMessage message) =>
        UserProperties.Get(message, NodeTracing.TraceParentProperty) is string parent
        && System.Diagnostics.ActivityContext.TryParse(parent, UserProperties.Get(message, NodeTracing.TraceStateProperty), isRemote: true, out var context)
            ? context
            : default;

    // Who holds queue places (Admission:MaxPerRequester): the node that sent an escalated request up, else
    // the request topic (a fleet broker does not say who published), with the client id the embedded
    // broker names (it sets that property itself; through a fleet broker anyone could).
    private string Requester(MqttApplicationMessage message, string[] path) =>
        path.Length > 0 ? $"node {path[^1]}"
        : _options.Server.Length == 0 && UserProperties.Get(message, EmbeddedBroker.SenderClientProperty) is { Length: > 0 } client ? $"{message.Topic} {client}"
        : message.Topic;

    private static string[] HopPath(MqttApplicationMessage message) =>
        UserProperties.Get(message, PathProperty)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

    // The earlier of the request's maxLatencyMs and what is left of the message's expiry interval.
    private static DateTimeOffset? Deadline(Request request, MqttApplicationMessage message, DateTimeOffset receivedAt)
    {
        DateTimeOffset? byLatency = request.MaxLatencyMs is int ms ? receivedAt.AddMilliseconds(ms) : null;
        DateTimeOffset? byExpiry = message.MessageExpiryInterval > 0 ? receivedAt.AddSeconds(message.MessageExpiryInterval) : null;
        return byLatency is null ? byExpiry : byExpiry is null ? byLatency : byLatency < byExpiry ? byLatency : byExpiry;
    }
}
