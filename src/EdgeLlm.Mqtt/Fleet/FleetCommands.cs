using System.Collections.Concurrent;
using System.Text;
using EdgeLlm.Core;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Fleet;

/// <summary>A node's reply to a model command: its envelope, and its edgellm-error code (null when it was done).</summary>
public sealed record FleetCommandReply(string Envelope, string? ErrorCode);

/// <summary>
/// Sends the fleet page's model commands to a node's {prefix}/node/{nodeId}/cmd under this connection's
/// identity (the node's Mqtt:Commands, or the broker's ACL, decide whether it may) and waits for the reply
/// on a topic of its own. The operator who asked is named in the edgellm-operator user property.
/// </summary>
public sealed class FleetCommands
{
    public const string OperatorProperty = "edgellm-operator";

    /// <summary>The commands a node takes (pull, unload, pin, unpin), as its command listener knows them.</summary>
    public static IReadOnlyList<string> Names => Incoming.CommandListener.Commands;

    private readonly MqttOptions _options;
    private readonly MqttConnection _connection;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<FleetCommandReply>> _waiting = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private Task? _subscribed;

    internal FleetCommands(IOptions<MqttOptions> options, MqttConnection connection)
    {
        _options = options.Value;
        _connection = connection;
    }

    private string ReplyTopic => $"{_options.TopicPrefix}/reply/{_connection.ClientId}/commands";

    /// <exception cref="TimeoutException">No reply within <paramref name="timeout"/>: the node may still be at it (a pull).</exception>
    public async Task<FleetCommandReply> SendAsync(string node, string command, string model, string operatorName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await SubscribedAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        string id = $"page-{Guid.NewGuid():N}";
        var reply = new TaskCompletionSource<FleetCommandReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[id] = reply;
        try
        {
            _connection.Publish(new MqttApplicationMessageBuilder()
                .WithTopic(_options.CommandTopic(node))
                .WithPayload(JsonPayload.Write(json =>
                {
                    json.WriteStartObject();
                    json.WriteString("id", id);
                    json.WriteString("command", command);
                    json.WriteString("model", model);
                    json.WriteEndObject();
                }))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .WithResponseTopic(ReplyTopic)
                .WithCorrelationData(Encoding.UTF8.GetBytes(id))
                .WithUserProperty(OperatorProperty, Encoding.UTF8.GetBytes(operatorName))
                .Build());
            return await reply.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _waiting.TryRemove(id, out _);
        }
    }

    // Once, on the first command; a subscription the broker refused is asked for again at the next one.
    private Task SubscribedAsync()
    {
        lock (_lock)
        {
            if (_subscribed is null or { IsFaulted: true })
            {
                _subscribed = _connection.SubscribeAsync(
                    new MqttTopicFilterBuilder().WithTopic(ReplyTopic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                    OnReplyAsync,
                    CancellationToken.None);
            }

            return _subscribed;
        }
    }

    private Task OnReplyAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (message.CorrelationData is { } correlation && _waiting.TryGetValue(Encoding.UTF8.GetString(correlation), out var waiting))
        {
            waiting.TrySetResult(new FleetCommandReply(Encoding.UTF8.GetString(message.Payload), UserProperties.Get(message, MqttReplyTarget.ErrorProperty)));
        }

        return Task.CompletedTask;
    }
}
