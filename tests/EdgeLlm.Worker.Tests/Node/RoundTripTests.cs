using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>Requests and answers as docs/design.md §3 has them, with Mosquitto's own clients and the embedded broker.</summary>
public sealed class RoundTripTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    [MosquittoFact]
    public async Task MosquittoRr_PlainText_GetsThePlainAnswer()
    {
        await using var node = await StartNodeAsync();

        var run = await ProcessRun.RunAsync("mosquitto_rr", ["-V", "5", "-h", "127.0.0.1", "-p", $"{mosquitto.Broker.Port}", "-t", "edgellm/ask/rr1", "-e", "test/rr1/reply", "-m", "Once upon a time", "-W", "20"], ToolTimeout);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(Continuation("Once upon a time", 128) + "\n", run.Output);
    }

    [MosquittoFact]
    public async Task MosquittoRr_Envelope_GetsTheAnswerEnvelope()
    {
        await using var node = await StartNodeAsync("Node:Tier=0");

        var run = await ProcessRun.RunAsync("mosquitto_rr", ["-V", "5", "-h", "127.0.0.1", "-p", $"{mosquitto.Broker.Port}", "-t", "edgellm/ask/rr2", "-e", "test/rr2/reply",
            "-m", """{"id":"panel-7","prompt":"Lily","maxTokens":12,"domain":"stories","temperature":0}""", "-W", "20"], ToolTimeout);

        Assert.Equal(0, run.ExitCode);
        using var answer = JsonDocument.Parse(run.Output);
        var root = answer.RootElement;
        Assert.Equal("panel-7", root.GetProperty("id").GetString());
        Assert.Equal(Continuation("Lily", 12), root.GetProperty("text").GetString());
        Assert.Equal("length", root.GetProperty("finishReason").GetString());
        Assert.Equal(node.NodeId, root.GetProperty("node").GetString());
        Assert.Equal(0, root.GetProperty("tier").GetInt32());
        Assert.Equal("stories260k-int8", root.GetProperty("model").GetString());
        Assert.Equal("local", root.GetProperty("route").GetProperty("decision").GetString());
        Assert.Equal(12, root.GetProperty("usage").GetProperty("completionTokens").GetInt32());
        Assert.Equal(2, root.GetProperty("usage").GetProperty("promptTokens").GetInt32());
        Assert.True(root.GetProperty("latencyMs").GetInt64() >= 0);
    }

    [MosquittoFact]
    public async Task Answer_CarriesTheRecommendersRoute()
    {
        await using var node = await StartNodeAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var story = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/route", """{"prompt": "Once upon a time", "maxTokens": 4}""")).Payload).RootElement.GetProperty("route");
        var medical = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/route", """{"prompt": "My child has a fever", "maxTokens": 4}""")).Payload).RootElement.GetProperty("route");

        Assert.Equal(("local", false), (story.GetProperty("decision").GetString(), story.GetProperty("degraded").GetBoolean()));
        Assert.Equal(["fits-local"], story.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(0.3, story.GetProperty("predicted").GetProperty("quality").GetDouble());
        Assert.True(story.GetProperty("predicted").GetProperty("latencyMs").GetDouble() > 0);
        // No model here knows medicine and no upstream is reachable: the best local answer, marked degraded.
        Assert.Equal(("local", true), (medical.GetProperty("decision").GetString(), medical.GetProperty("degraded").GetBoolean()));
        Assert.Equal(["domain", "no-upstream"], medical.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
    }

    [MosquittoFact]
    public async Task MosquittoPubSub_Mqtt311_AnswersOnTheRequestTopic()
    {
        await using var node = await StartNodeAsync();
        // A 3.1.1 requester has no response topic: it listens where it asks, and sees its request, then the answer.
        string subscriber = $"sub-{Guid.NewGuid():N}"[..20];
        var listener = ProcessRun.RunAsync("mosquitto_sub", ["-V", "311", "-i", subscriber, "-h", "127.0.0.1", "-p", $"{mosquitto.Broker.Port}", "-t", "edgellm/ask/sensor-3", "-C", "2", "-W", "20"], ToolTimeout);
        await mosquitto.Broker.WaitForSubscriptionAsync(subscriber, "edgellm/ask/sensor-3");

        var publish = await ProcessRun.RunAsync("mosquitto_pub", ["-V", "311", "-i", $"pub-{Guid.NewGuid():N}"[..20], "-h", "127.0.0.1", "-p", $"{mosquitto.Broker.Port}", "-t", "edgellm/ask/sensor-3", "-q", "1", "-m", "The dog"], ToolTimeout);
        var heard = await listener;

        Assert.Equal(0, publish.ExitCode);
        Assert.Equal(0, heard.ExitCode);
        Assert.Equal(["The dog", Continuation("The dog", 128)], heard.Output.Split('\n', 2).Select(s => s.TrimEnd('\n')));
    }

    [MosquittoFact]
    public async Task Mqtt5Reply_CarriesCorrelationDataAndTheAnswerProperty()
    {
        await using var node = await StartNodeAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/panel", "Tom");

        Assert.Equal(requester.ReplyTopic, reply.Topic);
        Assert.Equal("answer", reply.Type);
        Assert.Null(reply.Error);
        Assert.Equal(Continuation("Tom", 128), reply.Text);
    }

    [MosquittoFact]
    public async Task NodeNeverAnswersAnAnswer_OnItsOwnRequestTopic()
    {
        await using var node = await StartNodeAsync();
        // Asks as a 3.1.1 requester would (no response topic), but listens with MQTT 5 to see the properties.
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server, subscribe: "edgellm/ask/loop");

        await requester.PublishAsync("edgellm/ask/loop", "Sue"u8.ToArray(), withResponseTopic: false);
        var seen = await requester.WaitForCountAsync(2, TimeSpan.FromSeconds(20), quietFor: TimeSpan.FromSeconds(1.5));

        // The request and one answer: the answer, published on the request topic, is not taken for a request.
        Assert.Equal(2, seen.Count);
        Assert.Equal("Sue", seen[0].Text);
        Assert.Equal("answer", seen[^1].Type);
    }

    [Fact]
    public async Task EmbeddedBroker_AnswersMqtt5ClientsThatSendNoId()
    {
        int port = FreePort.Next();
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Stories}");

        var run = await ProcessRun.RunAsync("mosquitto_rr", ["-V", "5", "-h", "127.0.0.1", "-p", $"{port}", "-t", "edgellm/ask/embedded", "-e", "test/embedded/reply", "-m", "Once upon a time", "-W", "20"], ToolTimeout);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(Continuation("Once upon a time", 128) + "\n", run.Output);
    }

    [Fact]
    public async Task Ask_AgainstTheEmbeddedBroker_PrintsTheAnswer()
    {
        int port = FreePort.Next();
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Stories}");

        var plain = await CliRun.Of("ask", "--server", $"127.0.0.1:{port}", "Once upon a time");
        var envelope = await CliRun.Of("ask", "--server", $"127.0.0.1:{port}", "--json", "Lily");
        var failure = await CliRun.Of("ask", "--server", $"127.0.0.1:{port}", "--json", """{"prompt":"Lily","maxTokens":-1}""");

        Assert.Equal((0, Continuation("Once upon a time", 128) + "\n"), (plain.ExitCode, plain.Output));
        Assert.Equal(0, envelope.ExitCode);
        Assert.Equal(Continuation("Lily", 128), JsonDocument.Parse(envelope.Output).RootElement.GetProperty("text").GetString());
        Assert.Equal(1, failure.ExitCode);
        Assert.Equal("bad-request", JsonDocument.Parse(failure.Output).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Ask_NoBroker_FailsWithOneLine()
    {
        var run = await CliRun.Of("ask", "--server", $"127.0.0.1:{FreePort.Next()}", "--timeout-ms", "3000", "hello");

        Assert.Contains("edgellm: ", run.SingleErrorLine(expectedExitCode: 1));
    }

    private Task<RunningNode> StartNodeAsync(params string[] settings) =>
        RunningNode.StartAsync([$"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}", .. settings]);

    private string Continuation(string prompt, int tokens) => models.StoriesContinuation(prompt, tokens);
}
