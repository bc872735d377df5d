using System.Collections.Concurrent;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Incoming;

/// <summary>
/// Remote control of the node's models on {prefix}/node/{nodeId}/cmd: envelopes
/// {"id", "command": "pull" | "unload" | "pin" | "unpin", "model"} from the senders Mqtt:Commands allows,
/// each answered like a request (ResponseTopic and CorrelationData, else the command topic) with
/// {"id", "command", "model", "result"} or an error envelope. Off unless Mqtt:Commands allows someone.
/// </summary>
internal sealed partial class CommandListener : IHostedService, IDisposable
{
    /// <summary>Commands are small; anything past this is answered too-large.</summary>
    public const int MaxCommandBytes = 4096;

    public static IReadOnlyList<string> Commands { get; } = ["pull", "unload", "pin", "unpin"];

    private readonly MqttOptions _options;
    private readonly NodeOptions _node;
    private readonly MqttConnection _connection;
    private readonly IModelCommands? _models;
    private readonly ILogger<CommandListener> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private long _received;

    /// <param name="models">The node's model commands; a node without a model store (an endpoint tier) takes none.</param>
    public CommandListener(IOptions<MqttOptions> options, IOptions<NodeOptions> node, MqttConnection connection, ILogger<CommandListener> logger, IModelCommands? models = null)
    {
        _options = options.Value;
        _node = node.Value;
        _connection = connection;
        _models = models;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_models is null || !_options.Commands.Enabled)
        {
            return;
        }

        // Not NoLocal: the fleet page may run on this node and command it through the node's own connection.
        // The node's replies on this topic (no ResponseTopic) are answers, which OnMessageAsync skips.
        var subscription = new MqttTopicFilterBuilder()
            .WithTopic(_options.CommandTopic(_node.Id))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainHandling(MqttRetainHandling.DoNotSendOnSubscribe)
            .Build();
        await _connection.SubscribeAsync(subscription, OnMessageAsync, cancellationToken).ConfigureAwait(false);
        Log.TakingCommands(_logger, _options.CommandTopic(_node.Id));
    }

    /// <summary>Cancels the commands under way (a pull keeps its part file) and waits for their replies to be sent.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Values).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (MqttReplyTarget.IsReply(message))
        {
            return Task.CompletedTask;
        }

        if (!string.IsNullOrEmpty(message.ResponseTopic) && ResponseTopicRule.WhyNot(message.ResponseTopic, _options) is string forbidden)
        {
            Log.CommandReplyRefused(_logger, message.Topic, message.ResponseTopic, forbidden);
            return Task.CompletedTask;
        }

        string replyTopic = string.IsNullOrEmpty(message.ResponseTopic) ? message.Topic : message.ResponseTopic;
        var replyTo = new MqttReplyTarget(_connection, replyTopic, message.CorrelationData, RequestFormat.Envelope);
        // A pull takes as long as its download: it runs apart, so that other messages keep flowing.
        long key = Interlocked.Increment(ref _received);
        _running[key] = Task.Run(async () =>
        {
            try
            {
                await HandleAsync(message, replyTo).ConfigureAwait(false);
            }
            finally
            {
                _running.TryRemove(key, out _);
            }
        });
        return Task.CompletedTask;
    }

    private async Task HandleAsync(MqttApplicationMessage message, MqttReplyTarget replyTo)
    {
        var (id, command, model, problem) = Parse(message);
        Reply reply;
        if (problem is not null)
        {
            reply = problem;
        }
        else if (Refusal(message) is string refusal)
        {
            Log.CommandRefused(_logger, command!, model!, refusal);
            reply = new Failure(id, ErrorCode.Forbidden, refusal);
        }
        else
        {
            reply = await RunAsync(id, command!, model!).ConfigureAwait(false);
        }

        await replyTo.SendAsync(reply, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task<Reply> RunAsync(string? id, string command, string model)
    {
        try
        {
            var result = command switch
            {
                "pull" => await _models!.PullAsync(model, _stopping.Token).ConfigureAwait(false),
                "unload" => await _models!.UnloadAsync(model, _stopping.Token).ConfigureAwait(false),
                "pin" => await _models!.PinAsync(model, _stopping.Token).ConfigureAwait(false),
                _ => await _models!.UnpinAsync(model, _stopping.Token).ConfigureAwait(false),
            };
            Log.CommandDone(_logger, command, model, result.Message);
            return new CommandResult(id, command, model, OutcomeName(result.Outcome), result.Message);
        }
        catch (ModelUnavailableException e)
        {
            return new Failure(id, ErrorCode.NoModel, e.Message);
        }
        catch (ModelCommandException e)
        {
            return new Failure(id, ErrorCode.BadRequest, e.Message);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return new Failure(id, ErrorCode.Timeout, $"the node stopped before {command} {model} was done");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.CommandFailed(_logger, e, command, model);
            return new Failure(id, ErrorCode.Internal, $"{command} {model} failed: {e.Message}");
        }
    }

    private static string OutcomeName(ModelCommandOutcome outcome) => outcome switch
    {
        ModelCommandOutcome.Pulled => "pulled",
        ModelCommandOutcome.AlreadyPresent => "already-present",
        ModelCommandOutcome.Unloaded => "unloaded",
        ModelCommandOutcome.NotLoaded => "not-loaded",
        ModelCommandOutcome.Pinned => "pinned",
        _ => "unpinned",
    };

    // The sender as the embedded broker names it must be listed; through a fleet broker its ACL decides.
    private string? Refusal(MqttApplicationMessage message)
    {
        if (_options.Server.Length > 0)
        {
            return _options.Commands.TrustBrokerAcl ? null : "commands through a fleet broker need Mqtt:Commands:TrustBrokerAcl";
        }

        string client = UserProperties.Get(message, EmbeddedBroker.SenderClientProperty) ?? "";
        string user = UserProperties.Get(message, EmbeddedBroker.SenderUserProperty) ?? "";
        return _options.Commands.AllowedClients.Contains(client, StringComparer.Ordinal) || (user.Length > 0 && _options.Commands.AllowedUsers.Contains(user, StringComparer.Ordinal))
            ? null
            : $"client '{client}'{(user.Length > 0 ? $" (user '{user}')" : "")} may not send commands: Mqtt:Commands:AllowedClients and AllowedUsers do not list it";
    }

    internal static (string? Id, string? Command, string? Model, Failure? Problem) Parse(MqttApplicationMessage message)
    {
        if (message.Payload.Length > MaxCommandBytes)
        {
            return (null, null, null, new Failure(null, ErrorCode.TooLarge, $"a command takes at most {MaxCommandBytes} bytes, not {message.Payload.Length}"));
        }

        try
        {
            using var document = JsonPayload.Parse(message.Payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null, new Failure(null, ErrorCode.BadRequest, "a command is a JSON object {\"id\", \"command\", \"model\"}"));
            }

            string? id = root.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
            string? command = root.TryGetProperty("command", out var commandValue) && commandValue.ValueKind == JsonValueKind.String ? commandValue.GetString() : null;
            string? model = root.TryGetProperty("model", out var modelValue) && modelValue.ValueKind == JsonValueKind.String ? modelValue.GetString() : null;
            return command is null || !Commands.Contains(command)
                ? (id, null, null, new Failure(id, ErrorCode.BadRequest, $"\"command\" must be one of {string.Join(", ", Commands)}"))
                : string.IsNullOrWhiteSpace(model)
                ? (id, null, null, new Failure(id, ErrorCode.BadRequest, "\"model\" must name a model id"))
                : (id, command, model, null);
        }
        catch (JsonException e)
        {
            return (null, null, null, new Failure(null, ErrorCode.BadRequest, $"a command is a JSON object, and this is not JSON ({e.Message})"));
        }
    }
}
