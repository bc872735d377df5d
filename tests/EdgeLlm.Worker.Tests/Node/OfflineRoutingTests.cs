using System.Text;
using System.Text.Json;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;
using MQTTnet;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// A board without internet (the common case), as a node process over a real Mosquitto with the shipped
/// catalog whose sources are all out of reach: it never fails a request that what it has could answer,
/// and it says what it does not know rather than make it up.
/// </summary>
public sealed class OfflineRoutingTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>, IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _prefix = $"offline{Guid.NewGuid():N}"[..15];

    public void Dispose() => _temp.Dispose();

    [MosquittoFact]
    public async Task AFolderGivenByHandUnderAnotherName_IsKnownByItsFiles_AndAnswersEveryRequestWithoutAPull()
    {
        string folder = _temp.CopyFolder(models.StoriesAs(Quantization.Fp32), "fp32");
        await using var node = await StartAsync($"Models:Local={folder}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var answers = new List<JsonElement>();
        for (int i = 0; i < 4; i++)
        {
            answers.Add(Parse(await requester.AskAsync(AskTopic, $$"""{"id":"story-{{i}}","prompt":"Once upon a time","maxTokens":8}""")));
        }

        Assert.All(answers, a => Assert.Equal(("stories260k-fp32", false), (a.GetProperty("model").GetString(), a.GetProperty("route").GetProperty("degraded").GetBoolean())));
        Assert.All(answers, a => Assert.Equal(["fits-local"], Reasons(a)));
        Assert.Contains($"Models:Local {folder} is served as stories260k-fp32", node.Log);
        Assert.DoesNotContain("Pulling", node.Log);
    }

    [MosquittoFact]
    public async Task APullThatFails_LeavesTheRequestToWhatIsOnTheBoard_AndTheNextRequestsTryNoPullOfTheSameFiles()
    {
        await using var node = await StartAsync($"Models:Local={Helper()}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var first = Parse(await requester.AskAsync(AskTopic, """{"id":"s-1","prompt":"Once upon a time","maxTokens":4}"""));
        int pullsAfterFirst = Count(node.Log, "Pulling stories260k");
        var second = Parse(await requester.AskAsync(AskTopic, """{"id":"s-2","prompt":"Once upon a time","maxTokens":4}"""));

        // The catalog's stories model fitted better; it could not be pulled, so the board's own model answered.
        Assert.Equal(("plant-helper", true), (first.GetProperty("model").GetString(), first.GetProperty("route").GetProperty("degraded").GetBoolean()));
        Assert.Contains("acquire-failed", Reasons(first));
        Assert.Contains("could not be reached", node.Log);
        Assert.Equal("plant-helper", second.GetProperty("model").GetString());
        Assert.True(pullsAfterFirst > 0);
        Assert.Equal(pullsAfterFirst, Count(node.Log, "Pulling stories260k"));
    }

    [MosquittoFact]
    public async Task AFreshBoard_AskedWhatOnlyHubModelsCover_WithTheHubOutOfReach_AnswersWithTheCopyBesideTheCatalog()
    {
        // The shipped catalog as it is: its hub models cover industrial questions, stories260K (shipped beside
        // it) does not; the hub is a port nobody listens on. Nothing is on the board yet.
        await using var node = await StartWithCatalogAsync(Repository.Combine("models", "catalog.json"),
            $"Models:StorePath={_temp.Combine("store")}", $"Models:HfEndpoint=http://127.0.0.1:{FreePort.Next()}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var first = Parse(await requester.AskAsync(AskTopic, """{"id":"e42","prompt":"What does alarm E42 on line 3 mean?","maxTokens":4}"""));
        int hubPulls = Count(node.Log, ": source hf://");
        var second = Parse(await requester.AskAsync(AskTopic, """{"id":"e43","prompt":"What does alarm E43 on line 3 mean?","maxTokens":4}"""));

        // The first asked for a hub model, whose pull failed; with nothing on the board and no upstream, the one
        // model it could still obtain answered, degraded. The second went there at once: the hub is out of reach.
        Assert.Equal(("stories260k-int4", true), (first.GetProperty("model").GetString(), first.GetProperty("route").GetProperty("degraded").GetBoolean()));
        Assert.Contains("acquire-failed", Reasons(first));
        Assert.Equal(1, hubPulls);
        Assert.Equal("stories260k-int4", second.GetProperty("model").GetString());
        Assert.DoesNotContain("acquire-failed", Reasons(second));
        Assert.Equal(hubPulls, Count(node.Log, ": source hf://"));
    }

    [MosquittoFact]
    public async Task AnUpstreamThatGoesSilent_FallsBackToTheModelOnTheBoard_NeverToAPull()
    {
        // A gateway that says it serves medicine, and never answers.
        using var gateway = await AdvertiseAsync("gw-silent", tier: 1, """[{"id":"medic-7b","domains":{"medical":0.9}}]""");
        await using var node = await StartAsync($"Models:Local={Helper()}", "Upstream:Tier=1", "Upstream:TimeoutMs=1500");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await AskUntilEscalatedAsync(requester, node, """ "prompt":"The child has a fever","domain":"medical","minQuality":0.5,"maxTokens":4 """);

        Assert.Equal(("plant-helper", true), (reply.GetProperty("model").GetString(), reply.GetProperty("route").GetProperty("degraded").GetBoolean()));
        Assert.Contains("no-upstream", Reasons(reply));
        Assert.DoesNotContain("Pulling", node.Log);
    }

    [MosquittoFact]
    public async Task AFolderThatDescribesItself_IsRoutedAsItSays()
    {
        string folder = Helper();
        File.WriteAllText(Path.Combine(folder, "edgellm.json"), """{ "domains": { "stories": 0.5 }, "notes": "tuned on bedtime stories" }""");
        await using var node = await StartAsync($"Models:Local={folder}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        // Better than the catalog's stories models (0.3): the board's own is adequate, and nothing is pulled.
        var reply = Parse(await requester.AskAsync(AskTopic, """{"id":"b-1","prompt":"Once upon a time","minQuality":0.4,"maxTokens":4}"""));

        Assert.Equal(("plant-helper", false), (reply.GetProperty("model").GetString(), reply.GetProperty("route").GetProperty("degraded").GetBoolean()));
        Assert.Equal(["fits-local"], Reasons(reply));
        Assert.DoesNotContain("Pulling", node.Log);
    }

    [MosquittoFact]
    public async Task APredictionTheNodeCannotMake_IsUnknownInTheLogAndNullInTheAnswer()
    {
        // The helper has no measured rates, so no latency can be predicted for it.
        await using var node = await StartAsync($"Models:Local={Helper()}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = Parse(await requester.AskAsync(AskTopic, """{"id":"weather","prompt":"What is the weather like?","maxTokens":4}"""));

        Assert.Equal("plant-helper", reply.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, reply.GetProperty("route").GetProperty("predicted").GetProperty("latencyMs").ValueKind);
        await Eventually.TrueAsync(() => node.Log.Contains("Request weather routed local", StringComparison.Ordinal));
        Assert.Contains("predicted latency unknown", node.Log);
        Assert.DoesNotContain("-1 ms", Line(node.Log, "Request weather routed"));
    }

    private string AskTopic => $"{_prefix}/ask/q";

    private Task<NodeProcess> StartAsync(params string[] settings) =>
        StartWithCatalogAsync(StoriesCatalog.ShippedWithInternetSourcesOnly(_temp.Combine($"catalog-{Guid.NewGuid():N}.json")), settings);

    private async Task<NodeProcess> StartWithCatalogAsync(string catalog, params string[] settings)
    {
        var node = NodeProcess.Start([$"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}", "Mqtt:StatusIntervalSeconds=1", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto", .. settings]);
        await node.WaitUntilListeningAsync();
        return node;
    }

    // A general model of its own on the board, which the catalog does not know: stories260K's shape, other weights.
    private string Helper()
    {
        string folder = _temp.Combine("plant-helper");
        if (!Directory.Exists(folder))
        {
            ModelFolderBuilder.Build(new SyntheticWeights("stories260k", 7), Llama2cVocabulary.Bytes(), Quantization.Int8, folder, force: false);
        }

        return folder;
    }

    // The node answers on its own until it has heard the gateway's retained advertisement: the first request
    // it escalates (its log tells, before the reply goes out) is the one under test.
    private async Task<JsonElement> AskUntilEscalatedAsync(TestRequester requester, NodeProcess node, string fields)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            string id = $"medical-{attempt}";
            var reply = Parse(await requester.AskAsync(AskTopic, $$"""{"id":"{{id}}",{{fields}}}"""));
            await Eventually.TrueAsync(() => node.Log.Contains($"Request {id} routed ", StringComparison.Ordinal));
            if (node.Log.Contains($"Request {id} routed escalate", StringComparison.Ordinal))
            {
                return reply;
            }
        }

        throw new TimeoutException("the node never escalated: it did not hear the gateway's advertisement");
    }

    private async Task<IMqttClient> AdvertiseAsync(string nodeId, int tier, string modelsJson)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mosquitto.Broker.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId(nodeId).Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"{_prefix}/node/{nodeId}/status")
            .WithPayload($$"""{"node":"{{nodeId}}","online":true,"tier":{{tier}},"models":{{modelsJson}},"queueDepth":0}""")
            .WithRetainFlag()
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        return client;
    }

    private static JsonElement Parse(Received reply) => JsonDocument.Parse(reply.Payload).RootElement;

    private static string[] Reasons(JsonElement answer) =>
        [.. answer.GetProperty("route").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];

    private static int Count(string log, string what) => log.Split('\n').Count(l => l.Contains(what, StringComparison.Ordinal));

    private static string Line(string log, string what) => log.Split('\n').First(l => l.Contains(what, StringComparison.Ordinal));
}
