using System.Text.Json;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// The small deployment: a gateway that hosts the embedded broker for its devices. Its tier's ask topic is
/// subscribed plainly there (MQTTnet.Server has no shared subscriptions), and what the devices escalate
/// reaches it. A subscription a broker refuses is never passed over in silence.
/// </summary>
public sealed class EmbeddedBrokerNodeTests(NodeModels models) : IClassFixture<NodeModels>
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    [MosquittoFact]
    public async Task AGatewayOnItsEmbeddedBroker_AnswersWhatIsAskedOfItsTier()
    {
        int port = FreePort.Next();
        await using var gateway = await RunningNode.StartAsync("Node:Id=gw-embedded", "Node:Tier=1", $"Mqtt:EmbeddedPort={port}", $"Models:Local={models.StoriesAs(Quantization.Fp32)}");

        var run = await ProcessRun.RunAsync("mosquitto_rr", ["-V", "5", "-h", "127.0.0.1", "-p", $"{port}", "-t", "edgellm/tier/1/ask", "-e", "test/tier/reply", "-m", """{"id":"t1","prompt":"Once upon a time","maxTokens":8}""", "-W", "20"], ToolTimeout);

        Assert.Equal(0, run.ExitCode);
        var answer = JsonDocument.Parse(run.Output).RootElement;
        Assert.Equal(("t1", "gw-embedded", 1), (answer.GetProperty("id").GetString(), answer.GetProperty("node").GetString(), answer.GetProperty("tier").GetInt32()));
    }

    [MosquittoFact]
    public async Task AnEmbeddedBrokerOnEveryAddress_TakesItsUsersOnly_AndTheNodeStillServes()
    {
        using var temp = new TempDirectory();
        string users = temp.Combine("users");
        await File.WriteAllTextAsync(users, $"sensor-1:{Core.Security.PasswordFile.Hash("tulip 7", iterations: 1000)}\n");
        int port = FreePort.Next();
        await using var node = await RunningNode.StartAsync("Node:Id=pi-doors", $"Mqtt:EmbeddedPort={port}", "Mqtt:EmbeddedAddress=0.0.0.0", $"Mqtt:Embedded:UsersFile={users}", $"Models:Local={models.Stories}");
        string[] ask = ["-V", "5", "-h", "127.0.0.1", "-p", $"{port}", "-t", "edgellm/ask/s1", "-e", "test/s1/reply", "-m", """{"id":"u1","prompt":"Once upon a time","maxTokens":4}""", "-W", "20"];

        var anonymous = await ProcessRun.RunAsync("mosquitto_rr", ask, ToolTimeout);
        var wrong = await ProcessRun.RunAsync("mosquitto_rr", [.. ask, "-u", "sensor-1", "-P", "tulip 8"], ToolTimeout);
        var user = await ProcessRun.RunAsync("mosquitto_rr", [.. ask, "-u", "sensor-1", "-P", "tulip 7"], ToolTimeout);

        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("bad user name or password", (anonymous.Output + anonymous.Error).ToLowerInvariant(), StringComparison.Ordinal);
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Equal(0, user.ExitCode);
        Assert.Equal(("u1", "pi-doors"), (JsonDocument.Parse(user.Output).RootElement.GetProperty("id").GetString(), JsonDocument.Parse(user.Output).RootElement.GetProperty("node").GetString()));
    }

    [Fact]
    public async Task ADeviceOnTheGatewaysEmbeddedBroker_EscalatesToIt_AndItsRequesterGetsTheGatewaysAnswer()
    {
        int port = FreePort.Next();
        string broker = $"127.0.0.1:{port}";
        await using var gateway = await RunningNode.StartAsync("Node:Id=gw-hub", "Node:Tier=1", $"Mqtt:EmbeddedPort={port}", "Mqtt:RequestTopic=edgellm/gw-hub/ask/#", "Mqtt:StatusIntervalSeconds=1", $"Models:Local={models.StoriesAs(Quantization.Fp32)}");
        // The device has no model of its own: everything it is asked goes up a tier.
        await using var device = await RunningNode.StartAsync("Node:Id=dev-hub", $"Mqtt:Server={broker}", "Mqtt:RequestTopic=edgellm/dev-hub/ask/#", "Upstream:Tier=1", "Upstream:TimeoutMs=10000");
        await TestFleet.WaitUntilReachableAsync(device, "gw-hub");
        await using var requester = await TestRequester.ConnectAsync(broker);

        var reply = JsonDocument.Parse((await requester.AskAsync("edgellm/dev-hub/ask/story", """{"id":"e1","prompt":"Once upon a time","maxTokens":8}""")).Payload).RootElement;

        Assert.Equal(("e1", "gw-hub", 1), (reply.GetProperty("id").GetString(), reply.GetProperty("node").GetString(), reply.GetProperty("tier").GetInt32()));
        Assert.Equal("escalated", reply.GetProperty("route").GetProperty("decision").GetString());
    }

    [Fact]
    public async Task ARequesterWithAPersistentSession_AwayWhenItsAnswerIsSent_GetsItWhenItReconnects()
    {
        int port = FreePort.Next();
        string broker = $"127.0.0.1:{port}";
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Stories}");
        var counters = node.Service<Core.Processing.NodeCounters>();
        await using var requester = await TestRequester.ConnectAsync(broker, persistentSession: true);
        await requester.DisconnectAsync();

        // Asked on its behalf (its reply topic, its correlation) while it is away, so that the answer is sent to its session alone.
        await using (var colleague = await TestRequester.ConnectAsync(broker, subscribe: requester.ReplyTopic))
        {
            await colleague.PublishAsync("edgellm/ask/panel", """{"id":"away","prompt":"Once upon a time","maxTokens":8}""", correlation: "c-away");
            await Eventually.TrueAsync(() => counters.Answers == 1, TimeSpan.FromSeconds(30));
        }

        await requester.ConnectAsync();

        var reply = await requester.WaitForAsync(r => r.Correlation == "c-away", TimeSpan.FromSeconds(20));
        Assert.Equal("away", JsonDocument.Parse(reply.Payload).RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task ARequestFilterTheBrokerRefuses_StopsTheStart_NamingTheFilterAndTheReason()
    {
        int port = FreePort.Next();
        await using var gateway = await RunningNode.StartAsync("Node:Id=gw-strict", "Node:Tier=1", $"Mqtt:EmbeddedPort={port}", "Mqtt:RequestTopic=edgellm/gw-strict/ask/#");

        // A shared request filter, which the gateway's embedded broker cannot grant.
        await using var device = NodeProcess.Start([$"Mqtt:Server=127.0.0.1:{port}", "Mqtt:RequestTopic=$share/devices/edgellm/ask/#"]);
        int exitCode = await device.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("edgellm: the broker refused the subscription to $share/devices/edgellm/ask/#: SharedSubscriptionsNotSupported", device.Log);
        Assert.DoesNotContain("Listening for requests", device.Log);
    }
}
