using System.Diagnostics;
using System.Text.Json;
using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// docs/design.md §4 end to end on a real Mosquitto: a device (stories260K int4 on a "Pi 4"), a gateway
/// (stories260K fp32) and a top tier in front of an OpenAI-compatible server on loopback. Requests land on
/// the tier the recommender picks, and the answer comes back to the requester as if the device had given it.
/// </summary>
public sealed class HierarchyTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    [MosquittoFact]
    public async Task ThreeTiers_EachRequestIsAnsweredByTheTierItsNeedsCallFor()
    {
        await using var server = FakeOpenAiServer.Start();
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var top = await fleet.StartAsync("top", 2, TopTier(server));
        await using var gateway = await fleet.StartAsync("gw", 1, $"Models:Local={models.StoriesAs(Quantization.Fp32)}", "Upstream:Tier=2", "Routing:BoardClass=x64");
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1", "Routing:BoardClass=pi4");
        await TestFleet.WaitUntilReachableAsync(device, "gw", "top");
        await TestFleet.WaitUntilReachableAsync(gateway, "top");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var simple = await AskAsync(requester, fleet, """{"id": "a", "prompt": "Once upon a time", "domain": "stories", "maxTokens": 8}""");
        var better = await AskAsync(requester, fleet, """{"id": "b", "prompt": "Once upon a time", "domain": "stories", "minQuality": 0.45, "maxTokens": 8}""");
        var sooner = await AskAsync(requester, fleet, """{"id": "c", "prompt": "Once upon a time", "domain": "stories", "maxLatencyMs": 3000, "maxTokens": 100}""");
        var medical = await AskAsync(requester, fleet, """{"id": "d", "prompt": "What helps a fever?", "domain": "medical", "maxTokens": 8}""");

        Assert.Equal((0, "stories260k-int4", "local"), Where(simple));
        Assert.Equal((1, "stories260k-fp32", "escalated"), Where(better));
        Assert.Equal(["quality"], Strings(better.GetProperty("route").GetProperty("reasons")));
        Assert.Equal((1, "stories260k-fp32", "escalated"), Where(sooner));
        Assert.Equal(["latency"], Strings(sooner.GetProperty("route").GetProperty("reasons")));
        Assert.Equal((2, "big-model", "escalated"), Where(medical));
        Assert.Equal("big: What helps a fever?", medical.GetProperty("text").GetString());
        Assert.Equal(["a", "b", "c", "d"], new[] { simple, better, sooner, medical }.Select(a => a.GetProperty("id").GetString()));
        // The gateway's own route is kept inside the device's: it escalated again, for the domain.
        var gatewayRoute = medical.GetProperty("route").GetProperty("upstream");
        Assert.Equal("escalated", gatewayRoute.GetProperty("decision").GetString());
        Assert.Equal("local", gatewayRoute.GetProperty("upstream").GetProperty("decision").GetString());
        Assert.Equal(1, server.Count);
    }

    [MosquittoFact]
    public async Task Privacy_FleetAndLocalRequestsNeverReachTheThirdPartyEndpoint()
    {
        await using var server = FakeOpenAiServer.Start();
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var top = await fleet.StartAsync("top", 2, TopTier(server));
        await using var gateway = await fleet.StartAsync("gw", 1, $"Models:Local={models.StoriesAs(Quantization.Fp32)}", "Upstream:Tier=2");
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1");
        await TestFleet.WaitUntilReachableAsync(device, "gw", "top");
        await TestFleet.WaitUntilReachableAsync(gateway, "top");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var fleetOnly = await AskAsync(requester, fleet, """{"prompt": "What helps a fever?", "domain": "medical", "privacy": "fleet", "maxTokens": 4}""");
        var localOnly = await AskAsync(requester, fleet, """{"prompt": "What helps a fever?", "domain": "medical", "privacy": "local", "maxTokens": 4}""");
        // Sent to the top tier itself, a fleet request is refused there, before the endpoint is called.
        var atTheTop = Parse(await requester.AskAsync(fleet.AskTopic("top"), """{"prompt": "What helps a fever?", "privacy": "fleet"}"""));
        var anyone = await AskAsync(requester, fleet, """{"prompt": "What helps a fever?", "domain": "medical", "maxTokens": 4}""");

        // Fleet: the best the fleet itself has (the gateway, short of the domain); local: the device's own.
        Assert.Equal((1, "stories260k-fp32", "escalated"), Where(fleetOnly));
        Assert.True(fleetOnly.GetProperty("route").GetProperty("degraded").GetBoolean());
        Assert.Equal((0, "stories260k-int4", "local"), Where(localOnly));
        Assert.Contains("privacy", Strings(localOnly.GetProperty("route").GetProperty("reasons")));
        Assert.Equal("rejected-privacy", atTheTop.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal((2, "big-model", "escalated"), Where(anyone));
        Assert.Equal(["What helps a fever?"], server.Calls.Select(c => c.LastUserMessage));
    }

    [MosquittoFact]
    public async Task TwoGateways_ShareTheTierSubscription_AndEachRequestIsAnsweredOnce()
    {
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        // One device sends all 100: past its default share of a gateway's queue (a quarter), so allowed here.
        string[] gatewaySettings = [$"Models:Local={models.StoriesAs(Quantization.Fp32)}", "Admission:QueueCapacity=128", "Admission:MaxPerRequester=128"];
        await using var first = await fleet.StartAsync("gw-a", 1, gatewaySettings);
        await using var second = await fleet.StartAsync("gw-b", 1, gatewaySettings);
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1", "Upstream:MaxInFlight=128");
        await TestFleet.WaitUntilReachableAsync(device, "gw-a", "gw-b");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        for (int i = 0; i < 100; i++)
        {
            await requester.PublishAsync(fleet.AskTopic("dev"), $$"""{"id": "r{{i}}", "prompt": "Lily", "domain": "stories", "minQuality": 0.45, "maxTokens": 4}""", correlation: $"r{i}");
        }

        var replies = await requester.WaitForCountAsync(100, TimeSpan.FromSeconds(60), quietFor: TimeSpan.FromSeconds(2));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"r{i}").Order(), replies.Select(r => r.Correlation).Order());
        var answers = replies.Select(Parse).ToList();
        Assert.All(answers, a => Assert.Equal((1, "stories260k-fp32", "escalated"), Where(a)));
        var byGateway = answers.GroupBy(a => a.GetProperty("node").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(["gw-a", "gw-b"], byGateway.Keys.Order());
        Assert.All(byGateway.Values, count => Assert.InRange(count, 20, 80));
        Assert.Equal(100, first.Service<NodeCounters>().Answers + second.Service<NodeCounters>().Answers);
    }

    [MosquittoFact]
    public async Task ConfigurationLoop_IsCaughtByTheHopRules()
    {
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        // The gateway's upstream points back down at the device's tier.
        await using var gateway = await fleet.StartAsync("gw", 1, $"Models:Local={models.StoriesAs(Quantization.Fp32)}", "Upstream:Tier=0");
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await TestFleet.WaitUntilReachableAsync(gateway, "dev");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        // Nobody reaches that quality, so each node sends it to the other.
        await requester.PublishAsync(fleet.AskTopic("dev"), """{"id": "loop", "prompt": "Lily", "domain": "stories", "minQuality": 0.99}""", correlation: "loop");

        var replies = await requester.WaitForCountAsync(1, TimeSpan.FromSeconds(20), quietFor: TimeSpan.FromSeconds(2));
        var reply = Parse(Assert.Single(replies));
        Assert.Equal("upstream-unavailable", reply.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("escalation loop: the request went dev > gw and came back to dev", reply.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("loop", reply.GetProperty("id").GetString());
        Assert.Equal("upstream-unavailable", replies.Single().Error);
    }

    [MosquittoFact]
    public async Task GatewayKilledMidRequest_TheRequesterGetsTheFallbackWithinItsDeadlineOnce()
    {
        await using var server = FakeOpenAiServer.Start(delay: TimeSpan.FromSeconds(30));
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var gateway = NodeProcess.Start(fleet.Settings("gw", 1, TopTier(server)));
        await gateway.WaitUntilListeningAsync();
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1", "Routing:BoardClass=x64");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var clock = Stopwatch.StartNew();
        // The fallback keeps a tenth of the time left for the queue and the way back: 600 ms here. With 4 s
        // (400 ms) a clean-clone run on two busy cores once ran the fallback 800 ms after it was queued.
        await requester.PublishAsync(fleet.AskTopic("dev"), """{"id": "k", "prompt": "Lily", "domain": "medical", "maxLatencyMs": 6000, "maxTokens": 8}""", correlation: "k");
        await server.NextCallAsync(TimeSpan.FromSeconds(10));
        await gateway.KillAsync();

        var reply = await requester.WaitForAsync(r => r.Correlation == "k", TimeSpan.FromSeconds(10));
        var elapsed = clock.Elapsed;
        var answer = Parse(reply);
        Assert.Equal((0, "stories260k-int4", "local"), Where(answer));
        Assert.True(answer.GetProperty("route").GetProperty("degraded").GetBoolean());
        Assert.Contains("no-upstream", Strings(answer.GetProperty("route").GetProperty("reasons")));
        Assert.True(answer.GetProperty("latencyMs").GetInt64() < 6000, $"answered after {answer.GetProperty("latencyMs")} ms");
        Assert.True(elapsed < TimeSpan.FromSeconds(6.5), $"the requester waited {elapsed.TotalMilliseconds:F0} ms");
        Assert.Single(await requester.WaitForCountAsync(1, TimeSpan.Zero, quietFor: TimeSpan.FromSeconds(2)));
    }

    [MosquittoFact]
    public async Task BrokerRestartDuringAnEscalation_GivesExactlyOneReply()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var server = FakeOpenAiServer.Start(delay: TimeSpan.FromSeconds(3));
        using var fleet = new TestFleet(broker.Server);
        await using var gateway = await fleet.StartAsync("gw", 1, TopTier(server));
        await using var device = await fleet.StartAsync("dev", 0, $"Models:Local={models.StoriesAs(Quantization.Int4)}", "Upstream:Tier=1");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(broker.Server, persistentSession: true);

        await requester.PublishAsync(fleet.AskTopic("dev"), """{"id": "x", "prompt": "What helps a fever?", "domain": "medical", "maxLatencyMs": 20000}""", correlation: "x");
        await server.NextCallAsync(TimeSpan.FromSeconds(10));
        await broker.RestartAsync(downtime: TimeSpan.FromMilliseconds(500));
        await requester.ReconnectAsync();

        var replies = await requester.WaitForCountAsync(1, TimeSpan.FromSeconds(20), quietFor: TimeSpan.FromSeconds(3));
        var answer = Parse(Assert.Single(replies));
        Assert.Equal((1, "big-model", "escalated"), Where(answer));
        Assert.Equal("big: What helps a fever?", answer.GetProperty("text").GetString());
        Assert.Equal(1, server.Count);
    }

    // A top-tier node whose model is the test's OpenAI-compatible server, run by a third party.
    private static string[] TopTier(FakeOpenAiServer server) =>
        [$"Models:OpenAi:Endpoint={server.Endpoint}", "Models:OpenAi:Model=big-model", "Models:OpenAi:ThirdParty=true", "Models:OpenAi:Quality=0.9"];

    private static async Task<JsonElement> AskAsync(TestRequester requester, TestFleet fleet, string envelope) =>
        Parse(await requester.AskAsync(fleet.AskTopic("dev"), envelope));

    private static JsonElement Parse(Received reply) => JsonDocument.Parse(reply.Payload).RootElement;

    private static (int Tier, string? Model, string? Decision) Where(JsonElement answer) =>
        answer.TryGetProperty("error", out var error)
            ? throw new Xunit.Sdk.XunitException($"an error came back: {error}")
            : (answer.GetProperty("tier").GetInt32(), answer.GetProperty("model").GetString(), answer.GetProperty("route").GetProperty("decision").GetString());

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString() ?? "")];
}
