using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Processing;
using EdgeLlm.Mqtt.Incoming;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>Model commands through the embedded broker, in this process: who may send them, what they answer, and a stop that waits for them.</summary>
public sealed class CommandListenerTests : IAsyncLifetime, IDisposable
{
    private readonly EmbeddedNode _node = EmbeddedNode.Create(mqtt => mqtt.Commands.AllowedClients = ["operator"]);
    private readonly ScriptedModelCommands _models = new();
    private readonly CommandListener _listener;

    public CommandListenerTests() =>
        _listener = new CommandListener(Create(_node.Mqtt), Create(_node.Node), _node.Connection, NullLogger<CommandListener>.Instance, _models);

    public async Task InitializeAsync()
    {
        await _node.StartBrokerAsync();
        await _listener.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _listener.StopAsync(CancellationToken.None);
        await _node.DisposeAsync();
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task APullFromAnAllowedClient_Runs_AndIsAnsweredWithItsOutcome()
    {
        await using var operatorClient = await ConnectAsync("operator");

        var reply = await CommandAsync(operatorClient, """{"id": "c-1", "command": "pull", "model": "stories260k-int8"}""");

        Assert.Equal(["pull stories260k-int8"], _models.Calls);
        Assert.Equal(("c-1", "pull", "stories260k-int8", "pulled"), (reply.GetProperty("id").GetString(), reply.GetProperty("command").GetString(), reply.GetProperty("model").GetString(), reply.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task ACommandFromAClientNotListed_IsForbidden_AndNotRun()
    {
        await using var stranger = await ConnectAsync("stranger");

        var reply = await CommandAsync(stranger, """{"id": "c-2", "command": "unload", "model": "m"}""");

        Assert.Equal("forbidden", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("client 'stranger' may not send commands", reply.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(_models.Calls);
    }

    [Theory]
    [InlineData("""{"id": "c-3", "command": "delete", "model": "m"}""", "\"command\" must be one of pull, unload, pin, unpin")]
    [InlineData("""{"id": "c-3", "command": "pin"}""", "\"model\" must name a model id")]
    [InlineData("""{"id": "c-3", "command": "pin", "model": "answering"}""", "m is answering")]
    public async Task AWrongCommand_IsTheSendersMistake_ABadRequest(string command, string message)
    {
        _models.Refuse("answering", "m is answering");
        await using var operatorClient = await ConnectAsync("operator");

        var reply = await CommandAsync(operatorClient, command);

        Assert.Equal(("c-3", "bad-request"), (reply.GetProperty("id").GetString(), reply.GetProperty("error").GetProperty("code").GetString()));
        Assert.Contains(message, reply.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Stop_CancelsTheCommandUnderWay_AndWaitsUntilItsReplyIsSent()
    {
        _models.HoldPulls();
        await using var operatorClient = await ConnectAsync("operator");
        await operatorClient.PublishAsync(Command("""{"id": "c-4", "command": "pull", "model": "big"}"""));
        await _models.PullStarted;

        await _listener.StopAsync(CancellationToken.None);
        var reply = JsonDocument.Parse((await operatorClient.NextAsync()).Payload).RootElement;

        Assert.Equal("timeout", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("the node stopped before pull big was done", reply.GetProperty("error").GetProperty("message").GetString());
    }

    private async Task<RecordingClient> ConnectAsync(string clientId)
    {
        var client = await _node.ConnectClientAsync(clientId);
        await client.SubscribeAsync(ReplyTopic);
        return client;
    }

    private string ReplyTopic => $"{_node.Mqtt.TopicPrefix}-ops/replies";

    private async Task<JsonElement> CommandAsync(RecordingClient client, string command)
    {
        await client.PublishAsync(Command(command));
        return JsonDocument.Parse((await client.NextAsync()).Payload).RootElement;
    }

    private MqttApplicationMessage Command(string json) => new MqttApplicationMessageBuilder()
        .WithTopic(_node.Mqtt.CommandTopic(_node.Node.Id)).WithPayload(Encoding.UTF8.GetBytes(json))
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithResponseTopic(ReplyTopic).WithCorrelationData([7]).Build();

    /// <summary>The node's model commands as the listener sees them: records each call, refuses or holds where told to.</summary>
    private sealed class ScriptedModelCommands : IModelCommands
    {
        private readonly TaskCompletionSource _pullStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _calls = [];
        private (string Model, string Message)? _refusal;
        private bool _holdPulls;

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public Task PullStarted => _pullStarted.Task;

        public void Refuse(string model, string message) => _refusal = (model, message);

        public void HoldPulls() => _holdPulls = true;

        public async Task<ModelCommandResult> PullAsync(string modelId, CancellationToken cancellationToken)
        {
            Record("pull", modelId);
            if (_holdPulls)
            {
                _pullStarted.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new ModelCommandResult(modelId, ModelCommandOutcome.Pulled, $"pulled {modelId}", 1000);
        }

        public Task<ModelCommandResult> UnloadAsync(string modelId, CancellationToken cancellationToken) => Done("unload", modelId, ModelCommandOutcome.Unloaded);

        public Task<ModelCommandResult> PinAsync(string modelId, CancellationToken cancellationToken) => Done("pin", modelId, ModelCommandOutcome.Pinned);

        public Task<ModelCommandResult> UnpinAsync(string modelId, CancellationToken cancellationToken) => Done("unpin", modelId, ModelCommandOutcome.Unpinned);

        private Task<ModelCommandResult> Done(string command, string modelId, ModelCommandOutcome outcome)
        {
            Record(command, modelId);
            return _refusal is { } refusal && refusal.Model == modelId
                ? throw new ModelCommandException(refusal.Message)
                : Task.FromResult(new ModelCommandResult(modelId, outcome, $"{command} {modelId}"));
        }

        private void Record(string command, string modelId)
        {
            lock (_calls)
            {
                _calls.Add($"{command} {modelId}");
            }
        }
    }
}
