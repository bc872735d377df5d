using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// Models obtained on demand (docs/design.md §6) by a real node: sources served over HTTP on loopback from
/// models/stories260k, pulled, verified, converted and served over a real Mosquitto broker.
/// </summary>
public sealed class OnDemandTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>, IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ModelSourceServer _server = new();

    public void Dispose()
    {
        _server.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task FreshNode_FirstRequest_PullsConvertsAndServesTheModel_TheNextUsesItAsIs()
    {
        string catalog = ServedCatalog();
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        using var first = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/story", """{"id":"s-1","prompt":"Once upon a time","maxTokens":12}""")).Payload);
        using var second = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/story", """{"id":"s-2","prompt":"Once upon a time","maxTokens":12}""")).Payload);

        Assert.Equal("stories260k-int4", first.RootElement.GetProperty("model").GetString());
        Assert.Equal(["fits-local", "acquire"], Reasons(first));
        Assert.Equal(["fits-local"], Reasons(second));
        Assert.Equal(first.RootElement.GetProperty("text").GetString(), second.RootElement.GetProperty("text").GetString());
        Assert.Single(_server.RequestsFor("stories260K.bin"));
    }

    [Fact]
    public async Task TwentyConcurrentRequestsForAnAbsentModel_OneDownloadTwentyAnswers()
    {
        _server.BytesPerSecond = 1 << 20;
        string catalog = ServedCatalog();
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => requester.PublishAsync("edgellm/ask/story", $$"""{"id":"c-{{i}}","prompt":"Once upon a time","maxTokens":8}""")));
        var replies = await requester.WaitForCountAsync(20, TimeSpan.FromSeconds(60), quietFor: TimeSpan.FromMilliseconds(500));

        Assert.Single(_server.RequestsFor("stories260K.bin"));
        Assert.Single(_server.RequestsFor("tok512.bin"));
        Assert.Equal(20, replies.Count);
        Assert.All(replies, r => Assert.Null(r.Error));
        Assert.Equal(20, replies.Select(r => JsonDocument.Parse(r.Payload).RootElement.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task ASourceThatCannotBeReached_IsLoggedByName_AndTheNodeServesWithWhatItHas()
    {
        string unreachable = $"http://127.0.0.1:{FreePort.Next()}/stories260K.bin";
        string catalog = StoriesCatalog.Write(_temp.Combine("catalog.json"), StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.Source(unreachable, _server.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer)))));
        await using var node = NodeProcess.Start([$"Mqtt:Server={mosquitto.Broker.Server}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto", $"Models:Local={models.Stories}"]);
        await node.WaitUntilListeningAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/story", """{"prompt":"Once upon a time","maxTokens":4}""");

        Assert.Null(reply.Error);
        Assert.Equal("stories260k-int8", JsonDocument.Parse(reply.Payload).RootElement.GetProperty("model").GetString());
        Assert.Contains($"{unreachable}: could not be reached", node.Log);
    }

    [Fact]
    public async Task ARestartDuringADownload_LeavesNoHalfInstalledModel_AndTheNextPullResumes()
    {
        _server.BytesPerSecond = 64 * 1024;
        string catalog = ServedCatalog();
        string store = _temp.Combine("store");
        string[] settings = [$"Mqtt:Server={mosquitto.Broker.Server}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto", $"Models:StorePath={store}", "Node:Id=pi-pull", "Mqtt:StatusIntervalSeconds=1"];
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        await using var watcher = await TestRequester.ConnectAsync(mosquitto.Broker.Server, subscribe: "edgellm/node/pi-pull/status");
        await using (var node = NodeProcess.Start(settings))
        {
            await node.WaitUntilListeningAsync();
            await requester.PublishAsync("edgellm/ask/story", """{"prompt":"Once upon a time","maxTokens":4}""");
            string part = Path.Combine(store, ".downloads", $"{StoriesCatalog.CheckpointSha256}.part");
            await Eventually.TrueAsync(() => File.Exists(part) && new FileInfo(part).Length > 64 * 1024, TimeSpan.FromSeconds(20));

            // The status advertises the pull and its progress meanwhile.
            var advertised = await watcher.WaitForAsync(r => JsonDocument.Parse(r.Payload).RootElement.TryGetProperty("pulls", out var p) && p.GetArrayLength() > 0 && p[0].GetProperty("bytes").GetInt64() > 0, TimeSpan.FromSeconds(10));
            var pull = JsonDocument.Parse(advertised.Payload).RootElement.GetProperty("pulls")[0];
            Assert.Equal(("stories260k-int4", _server.Url("stories260K.bin")), (pull.GetProperty("model").GetString(), pull.GetProperty("source").GetString()));
            await node.KillAsync();
        }

        Assert.Equal([".downloads", ".pinned"], Directory.GetFileSystemEntries(store).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        _server.BytesPerSecond = 0;
        await using var restarted = NodeProcess.Start(settings);
        await restarted.WaitUntilListeningAsync();

        var reply = await requester.AskAsync("edgellm/ask/story", """{"prompt":"Once upon a time","maxTokens":4}""");

        Assert.Null(reply.Error);
        var requests = _server.RequestsFor("stories260K.bin");
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1] > 64 * 1024, $"the second download should resume, but it asked from byte {requests[1]}");
    }

    [Fact]
    public async Task Commands_FromAnAllowedClient_PullPinUnpinAndUnload_AndFromAnyoneElseAreRefused()
    {
        int port = FreePort.Next();
        string catalog = ServedCatalog();
        await using var node = await RunningNode.StartAsync($"Mqtt:EmbeddedPort={port}", $"Models:CatalogPath={catalog}", "Mqtt:Commands:AllowedClients:0=ops-console", "Node:Id=pi-cmd");
        string broker = $"127.0.0.1:{port}";
        await using var operations = await TestRequester.ConnectAsync(broker, clientId: "ops-console");
        await using var intruder = await TestRequester.ConnectAsync(broker, clientId: "intruder");

        var refused = await intruder.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"x","command":"pull","model":"stories260k-int4"}""");
        Assert.Equal("forbidden", refused.Error);
        Assert.Empty(_server.RequestsFor("stories260K.bin"));

        var pulled = await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"1","command":"pull","model":"stories260k-int4"}""");
        Assert.Null(pulled.Error);
        Assert.StartsWith("stories260k-int4 pulled", JsonDocument.Parse(pulled.Payload).RootElement.GetProperty("result").GetString());

        Assert.Null((await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"2","command":"pin","model":"stories260k-int4"}""")).Error);
        Assert.Equal("bad-request", (await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"3","command":"unload","model":"stories260k-int4"}""")).Error);
        Assert.Null((await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"4","command":"unpin","model":"stories260k-int4"}""")).Error);
        var unloaded = await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"5","command":"unload","model":"stories260k-int4"}""");
        Assert.Equal("stories260k-int4 unloaded", JsonDocument.Parse(unloaded.Payload).RootElement.GetProperty("result").GetString());

        Assert.Equal("no-model", (await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"6","command":"pull","model":"no-such-model"}""")).Error);
        Assert.Equal("bad-request", (await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"7","command":"format-disk","model":"x"}""")).Error);
        Assert.Equal("bad-request", (await operations.AskAsync("edgellm/node/pi-cmd/cmd", "not json")).Error);
        Assert.Equal("too-large", (await operations.AskAsync("edgellm/node/pi-cmd/cmd", $$"""{"command":"pull","model":"{{new string('x', 5000)}}"}""")).Error);
        // Fields it does not know are ignored, as in requests.
        Assert.Null((await operations.AskAsync("edgellm/node/pi-cmd/cmd", """{"id":"8","command":"pull","model":"stories260k-int4","reason":"re-flash"}""")).Error);
    }

    private string ServedCatalog()
    {
        var source = StoriesCatalog.Source(_server.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint)), _server.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer)));
        return StoriesCatalog.Write(_temp.Combine($"catalog-{Guid.NewGuid():N}.json"), StoriesCatalog.Model("stories260k-int4", "int4", source));
    }

    private static string[] Reasons(JsonDocument answer) =>
        [.. answer.RootElement.GetProperty("route").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];
}
