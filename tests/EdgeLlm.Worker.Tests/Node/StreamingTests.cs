using System.Text.Json;
using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;
using MQTTnet.Formatter;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// Streamed answers end to end (docs/design.md §3a) on a real Mosquitto and on the embedded broker: chunks
/// in order with the requester's correlation (MQTT 5) or on its request topic (3.1.1) that add up to the
/// final text, heartbeats while a long prompt is read, a cancel, a requester that vanishes, and a stream
/// from an OpenAI-compatible server relayed down the tiers.
/// </summary>
public sealed class StreamingTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [MosquittoFact]
    public async Task Stream_Mqtt5_ChunksComeInOrderWithTheCorrelation_AndAddUpToTheGreedyText()
    {
        await using var node = await StartNodeAsync(models.Stories, "Streaming:IntervalMs=0");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var final = await requester.AskAsync(AskTopic(node), """{"id":"s1","prompt":"Once upon a time","maxTokens":40,"stream":true}""", Patience, correlation: "s1-corr");

        AssertStreamed(final, requester.ChunksOf("s1-corr"), node.NodeId, models.StoriesContinuation("Once upon a time", 40));
    }

    [MosquittoFact]
    public async Task Stream_Mqtt311_ChunksComeInOrderOnTheRequestTopic()
    {
        await using var node = await StartNodeAsync(models.Stories, "Streaming:IntervalMs=0");
        string topic = $"{AskTopic(node)}/panel-311";
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server, MqttProtocolVersion.V311, subscribe: topic);

        await requester.PublishAsync(topic, """{"id":"s2","prompt":"Lily","maxTokens":30,"stream":true}""");
        // MQTT 3.1.1 carries no user properties: the payloads tell the chunks ("seq") from the answer ("text") and the request itself.
        var final = await requester.WaitForAsync(r => Has(r, "text"), Patience);
        var chunks = requester.All.Where(r => Has(r, "seq")).ToArray();

        Assert.All(requester.All, r => Assert.Equal((topic, null, null), (r.Topic, r.Correlation, r.Type)));
        AssertStreamed(final, chunks, node.NodeId, models.StoriesContinuation("Lily", 30));
    }

    [Fact]
    public async Task Stream_OnTheEmbeddedBroker_ChunksComeInOrderWithTheCorrelation()
    {
        int port = FreePort.Next();
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Stories}", "Streaming:IntervalMs=0");
        await using var requester = await TestRequester.ConnectAsync($"127.0.0.1:{port}");

        var final = await requester.AskAsync("edgellm/ask/panel", """{"id":"s3","prompt":"Once upon a time","maxTokens":40,"stream":true}""", Patience, correlation: "s3-corr");

        AssertStreamed(final, requester.ChunksOf("s3-corr"), node.NodeId, models.StoriesContinuation("Once upon a time", 40));
    }

    [MosquittoFact]
    public async Task Stream_ALongPrompt_HeartbeatsWhileItIsRead()
    {
        await using var node = await StartNodeAsync(models.Slow, "Streaming:HeartbeatMs=100");
        string topic = AskTopic(node);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        string prompt = string.Join(' ', Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 150));

        var final = await requester.AskAsync(topic, $$"""{"id":"s4","prompt":"{{prompt}}","maxTokens":4,"stream":true}""", Patience, correlation: "s4");

        var chunks = requester.ChunksOf("s4").Select(c => JsonDocument.Parse(c.Payload).RootElement).ToArray();
        var beats = chunks.TakeWhile(c => c.TryGetProperty("state", out _)).ToArray();
        Assert.True(beats.Length >= 2, $"{beats.Length} heartbeats before the first text");
        Assert.All(beats, b => Assert.Equal("prefill", b.GetProperty("state").GetString()));
        var progress = beats.Select(b => b.GetProperty("progress").GetDouble()).ToArray();
        Assert.Equal(progress.Order(), progress);
        Assert.InRange(progress[^1], 0, 1);
        Assert.Equal(node.NodeId, beats[0].GetProperty("node").GetString());
        Assert.Equal(chunks.Length, JsonDocument.Parse(final.Payload).RootElement.GetProperty("chunks").GetInt32());
    }

    [MosquittoFact]
    public async Task Cancel_MidGeneration_EndsItWithWhatWasWritten_AndTheNodeGoesOn()
    {
        await using var node = await StartNodeAsync(models.Slow);
        string topic = AskTopic(node);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        await requester.PublishAsync(topic, """{"id":"s5","prompt":"hello","maxTokens":6000,"stream":true}""", correlation: "s5");
        await requester.WaitForAsync(r => r.Correlation == "s5" && r.Type == "chunk" && r.Text.Contains("\"delta\"", StringComparison.Ordinal), Patience);
        await requester.PublishAsync($"edgellm/node/{node.NodeId}/cancel", "not a cancel");
        await requester.PublishAsync($"edgellm/node/{node.NodeId}/cancel", """{"id":"s5","cancel":true}""");
        var final = await requester.WaitForAsync(r => r.Correlation == "s5" && r.Type == "answer", Patience);
        var next = await requester.AskAsync(topic, """{"id":"s6","prompt":"hello","maxTokens":3}""", Patience);

        var answer = JsonDocument.Parse(final.Payload).RootElement;
        Assert.Equal("cancelled", answer.GetProperty("finishReason").GetString());
        string text = answer.GetProperty("text").GetString()!;
        Assert.NotEmpty(text);
        Assert.Equal(text, string.Concat(requester.ChunksOf("s5").Select(Delta)));
        Assert.Null(next.Error);
    }

    [MosquittoFact]
    public async Task RequesterThatVanishes_FreesTheModel()
    {
        await using var node = await StartNodeAsync(models.Slow);
        await AssertVanishingFreesTheModelAsync(node, mosquitto.Broker.Server, AskTopic(node));
    }

    [Fact]
    public async Task RequesterThatVanishes_FreesTheModel_OnTheEmbeddedBroker()
    {
        int port = FreePort.Next();
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Slow}");
        await AssertVanishingFreesTheModelAsync(node, $"127.0.0.1:{port}", "edgellm/ask/panel");
    }

    [MosquittoFact]
    public async Task Escalated_DeviceToGatewayToOpenAiServer_TheServersStreamReachesTheRequester()
    {
        await using var server = FakeOpenAiServer.Start();
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var gateway = await fleet.StartAsync("gw", 1, [.. OpenAiTier(server), "Streaming:IntervalMs=0"]);
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1", "Streaming:IntervalMs=0");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        const string Envelope = """
            {"id":"x1","messages":[{"role":"user","content":"My child is hot."},{"role":"assistant","content":"Take her temperature."}],
             "prompt":"What helps a fever?","domain":"medical","stream":true,"maxTokens":20}
            """;
        var final = await requester.AskAsync(fleet.AskTopic("dev"), Envelope, Patience, correlation: "x1");

        var chunks = requester.ChunksOf("x1");
        var answer = JsonDocument.Parse(final.Payload).RootElement;
        Assert.Equal(("big: What helps a fever?", 1, "escalated"), (answer.GetProperty("text").GetString(), answer.GetProperty("tier").GetInt32(), answer.GetProperty("route").GetProperty("decision").GetString()));
        Assert.True(chunks.Count >= 2, $"{chunks.Count} chunks");
        Assert.Equal("big: What helps a fever?", string.Concat(chunks.Select(Delta)));
        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => JsonDocument.Parse(c.Payload).RootElement.GetProperty("seq").GetInt32()));
        Assert.Equal("gw", JsonDocument.Parse(chunks[0].Payload).RootElement.GetProperty("node").GetString());
        Assert.Equal(chunks.Count, answer.GetProperty("chunks").GetInt32());
        var call = Assert.Single(server.Calls);
        Assert.True((bool?)call.Body["stream"]);
        // The chat went up the tiers as it came, and to the server as its messages.
        Assert.Equal(
            [("user", "My child is hot."), ("assistant", "Take her temperature."), ("user", "What helps a fever?")],
            call.Body["messages"]!.AsArray().Select(m => ((string?)m!["role"], (string?)m["content"])));
    }

    [MosquittoFact]
    public async Task Stream_PastTheDeadline_TheOneFinalReplyIsTimeout_AfterTheChunks()
    {
        await using var node = await StartNodeAsync(models.Slow);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var final = await requester.AskAsync(AskTopic(node), """{"id":"s7","prompt":"hello","maxTokens":6000,"maxLatencyMs":1500,"stream":true}""", Patience, correlation: "s7");

        var chunks = requester.ChunksOf("s7");
        Assert.Equal("timeout", final.Error);
        Assert.NotEmpty(chunks);
        Assert.Equal(chunks.Count, JsonDocument.Parse(final.Payload).RootElement.GetProperty("chunks").GetInt32());
    }

    [MosquittoFact]
    public async Task Escalated_ACancelTravelsUp_AndTheServersStreamIsClosed()
    {
        await using var server = FakeOpenAiServer.Start(chunkDelay: TimeSpan.FromMilliseconds(300));
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var gateway = await fleet.StartAsync("gw", 1, OpenAiTier(server));
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        string question = string.Join(' ', Enumerable.Repeat("why", 100));

        await requester.PublishAsync(fleet.AskTopic("dev"), $$"""{"id":"x2","prompt":"{{question}}","domain":"medical","stream":true,"maxLatencyMs":60000}""", correlation: "x2");
        await requester.WaitForAsync(r => r.Correlation == "x2" && r.Type == "chunk" && r.Text.Contains("\"delta\"", StringComparison.Ordinal), Patience);
        await requester.PublishAsync($"{fleet.Prefix}/node/dev/cancel", """{"id":"x2","cancel":true}""");
        var final = await requester.WaitForAsync(r => r.Correlation == "x2" && r.Type == "answer", Patience);

        var answer = JsonDocument.Parse(final.Payload).RootElement;
        Assert.Equal("cancelled", answer.GetProperty("finishReason").GetString());
        Assert.StartsWith("big:", answer.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.NotEqual($"big: {question}", answer.GetProperty("text").GetString());
        Assert.Equal(answer.GetProperty("text").GetString(), string.Concat(requester.ChunksOf("x2").Select(Delta)));
        await Eventually.TrueAsync(() => server.Abandoned == 1, Patience, "the server's stream closed by the gateway");
    }

    [MosquittoFact]
    public async Task AskStream_PrintsTheTextAsItComes()
    {
        await using var node = await StartNodeAsync(models.Stories, "Streaming:IntervalMs=0");

        var run = await CliRun.Of("ask", "--server", mosquitto.Broker.Server, "--topic", AskTopic(node), "--stream", "Once upon a time");

        Assert.Equal((0, ""), (run.ExitCode, run.Error));
        Assert.Equal(models.StoriesContinuation("Once upon a time", 128) + Environment.NewLine, run.Output);
    }

    private static bool Has(Received message, string property) =>
        message.Payload.Length > 0 && message.Payload[0] == (byte)'{' && JsonDocument.Parse(message.Payload).RootElement.TryGetProperty(property, out _);

    [MosquittoFact]
    public async Task AskStream_Interrupted_TheNodeStopsWriting()
    {
        await using var node = await StartNodeAsync(models.Slow);
        var pipeline = node.Service<INodePipeline>();
        using var interrupt = new CancellationTokenSource();

        var run = CliRun.Of(interrupt.Token, "ask", "--server", mosquitto.Broker.Server, "--topic", AskTopic(node), "--stream", """{"prompt":"hello","maxTokens":6000}""");
        await Eventually.TrueAsync(() => pipeline.Activity.Generating, Patience, "the node generating");
        await interrupt.CancelAsync();

        Assert.Equal(130, (await run).ExitCode);
        await Eventually.TrueAsync(() => node.Service<NodeCounters>().Cancelled == 1, Patience, "the node stopping the interrupted answer");
    }

    internal static string Delta(Received chunk) =>
        JsonDocument.Parse(chunk.Payload).RootElement.TryGetProperty("delta", out var delta) ? delta.GetString() ?? "" : "";

    // A requester asks for a long streamed answer and goes after its first chunk: the generation stops, and
    // the next requester is answered.
    private static async Task AssertVanishingFreesTheModelAsync(RunningNode node, string server, string topic)
    {
        var counters = node.Service<NodeCounters>();
        await using var other = await TestRequester.ConnectAsync(server);
        var vanishing = await TestRequester.ConnectAsync(server);

        await vanishing.PublishAsync(topic, """{"id":"v1","prompt":"hello","maxTokens":6000,"stream":true}""", correlation: "v1");
        await vanishing.WaitForAsync(r => r.Correlation == "v1" && r.Type == "chunk", Patience);
        await vanishing.DisposeAsync();
        await Eventually.TrueAsync(() => counters.Cancelled == 1, Patience, "the vanished requester's generation stopped");
        var next = await other.AskAsync(topic, """{"id":"v2","prompt":"hello","maxTokens":3}""", Patience);

        Assert.Null(next.Error);
        Assert.Equal(1, counters.Cancelled);
    }

    private static void AssertStreamed(Received final, IReadOnlyList<Received> chunks, string nodeId, string expectedText)
    {
        var answer = JsonDocument.Parse(final.Payload).RootElement;
        var parsed = chunks.Select(c => JsonDocument.Parse(c.Payload).RootElement).ToArray();
        Assert.Equal(expectedText, answer.GetProperty("text").GetString());
        Assert.True(parsed.Length >= 2, $"{parsed.Length} chunks");
        Assert.Equal(Enumerable.Range(0, parsed.Length), parsed.Select(c => c.GetProperty("seq").GetInt32()));
        Assert.Equal(expectedText, string.Concat(chunks.Select(Delta)));
        Assert.Equal(nodeId, parsed[0].GetProperty("node").GetString());
        Assert.All(parsed.Skip(1), c => Assert.False(c.TryGetProperty("node", out _)));
        Assert.Equal(parsed.Length, answer.GetProperty("chunks").GetInt32());
        Assert.All(chunks, c => Assert.Null(c.Error));
    }

    private static string[] OpenAiTier(FakeOpenAiServer server) =>
        [$"Models:OpenAi:Endpoint={server.Endpoint}", "Models:OpenAi:Model=big-model", "Models:OpenAi:Quality=0.9"];

    private static string AskTopic(RunningNode node) => $"test/{node.NodeId}/ask/q";

    // A node on the fleet broker with a request topic of its own.
    private Task<RunningNode> StartNodeAsync(string model, params string[] more)
    {
        string id = $"stream-{Guid.NewGuid():N}"[..20];
        return RunningNode.StartAsync([$"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:Local={model}", .. more]);
    }
}
