using System.Text.Json;
using EdgeLlm.Tests;
using EdgeLlm.Worker.Tests.Node;

namespace EdgeLlm.Worker.Tests;

/// <summary>`edgellm status` and `edgellm recommend`, with fake board trees, snapshot files and advertisements.</summary>
public sealed class RoutingCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task Status_FakePi_PrintsItsSnapshot()
    {
        string root = FakeTree(("proc/meminfo", "MemTotal: 1899580 kB\nMemAvailable: 1503112 kB\n"), ("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0"),
            ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"), ("sys/class/thermal/thermal_zone0/temp", "85500\n"), ("sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n"));

        var run = await CliRun.Of("status", "--sysfs-root", root);

        Assert.Equal(0, run.ExitCode);
        using var snapshot = JsonDocument.Parse(run.Output);
        var rootElement = snapshot.RootElement;
        Assert.Equal("Raspberry Pi 4 Model B Rev 1.4", rootElement.GetProperty("board").GetString());
        Assert.Equal(1_503_112L * 1024, rootElement.GetProperty("memory").GetProperty("availableBytes").GetInt64());
        Assert.Equal(85.5, rootElement.GetProperty("cpu").GetProperty("temperatureCelsius").GetDouble());
        Assert.True(rootElement.GetProperty("thermal").GetProperty("throttling").GetProperty("underVoltageNow").GetBoolean());
    }

    [Fact]
    public async Task Status_ThenRecommend_ReadsTheSnapshotItPrinted()
    {
        string hot = FakeTree(("proc/meminfo", "MemTotal: 1899580 kB\nMemAvailable: 1503112 kB\n"), ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"), ("sys/class/thermal/thermal_zone0/temp", "91000\n"));
        string snapshot = _temp.Combine("hot.json");
        File.WriteAllText(snapshot, (await CliRun.Of("status", "--sysfs-root", hot)).Output);

        var run = await CliRun.Of("recommend", "--request", """{"prompt": "Once upon a time", "domain": "stories"}""", "--snapshot", snapshot, "--catalog", ShippedCatalog);

        Assert.Equal(1, run.ExitCode);
        using var decision = JsonDocument.Parse(run.Output);
        Assert.Equal("reject", decision.RootElement.GetProperty("decision").GetString());
        Assert.Equal(["thermal", "no-upstream"], decision.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("busy", decision.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Recommend_CoolBoard_PicksTheSmallestStoriesBuild()
    {
        var run = await CliRun.Of("recommend", "--request", """{"prompt": "Once upon a time there was a dragon"}""", "--snapshot", Snapshot(availableMb: 1500), "--catalog", ShippedCatalog);

        Assert.Equal(0, run.ExitCode);
        using var decision = JsonDocument.Parse(run.Output);
        var root = decision.RootElement;
        Assert.Equal(("local", "stories260k-int4", "stories"), (root.GetProperty("decision").GetString(), root.GetProperty("model").GetString(), root.GetProperty("domain").GetString()));
        Assert.Equal(["fits-local"], root.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.True(root.GetProperty("predicted").GetProperty("latencyMs").GetDouble() > 0);
    }

    [Fact]
    public async Task Recommend_PediatricsWithTheGatewayOnline_Escalates()
    {
        string upstreams = _temp.Combine("upstreams.json");
        File.WriteAllText(upstreams, """
            [ { "node": "gw-1", "online": true, "tier": 1, "models": [ { "id": "gateway-qwen2.5-7b-instruct", "domains": { "medical": 0.6 } } ], "queueDepth": 0 },
              { "node": "old-gw", "online": false, "tier": 1, "models": [] } ]
            """);

        var run = await CliRun.Of("recommend", "--request", """{"prompt": "My child has a fever of 39, what dose?", "domain": "medical", "subdomain": "pediatrics", "minQuality": 0.55}""",
            "--snapshot", Snapshot(availableMb: 1500), "--catalog", ShippedCatalog, "--upstreams", upstreams);

        Assert.Equal(0, run.ExitCode);
        using var decision = JsonDocument.Parse(run.Output);
        Assert.Equal(("escalate", "gateway-qwen2.5-7b-instruct", 1), (decision.RootElement.GetProperty("decision").GetString(), decision.RootElement.GetProperty("model").GetString(), decision.RootElement.GetProperty("tier").GetInt32()));
        // The one local model good enough (phi3.5-mini at int8) does not fit the Pi 4's 1.5 GB.
        Assert.Equal(["memory"], decision.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Recommend_ANodeOfItsOwnTier_IsNoUpstream()
    {
        // Without Upstream:Tier the next tier up is assumed: a sibling board is not where requests go.
        string upstreams = _temp.Combine("siblings.json");
        File.WriteAllText(upstreams, """
            [ { "node": "pi-08", "online": true, "tier": 0, "models": [ { "id": "medical-tiny", "domains": { "medical": 0.9 } } ], "queueDepth": 0 } ]
            """);

        var run = await CliRun.Of("recommend", "--request", """{"prompt": "fever", "domain": "medical", "minQuality": 0.8}""", "--snapshot", Snapshot(availableMb: 1500), "--catalog", ShippedCatalog, "--upstreams", upstreams);

        using var decision = JsonDocument.Parse(run.Output);
        Assert.Equal(("local", true), (decision.RootElement.GetProperty("decision").GetString(), decision.RootElement.GetProperty("degraded").GetBoolean()));
        Assert.Contains("no-upstream", decision.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Recommend_ImpossibleRequirements_RejectsWithExit1()
    {
        var run = await CliRun.Of("recommend", "--request", """{"prompt": "fever", "domain": "law", "privacy": "local"}""", "--snapshot", Snapshot(availableMb: 10), "--catalog", ShippedCatalog);

        Assert.Equal(1, run.ExitCode);
        using var decision = JsonDocument.Parse(run.Output);
        Assert.Equal("rejected-privacy", decision.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Recommend_SnapshotThatIsNotJson_FailsNamingTheFile()
    {
        string snapshot = _temp.Combine("broken.json");
        File.WriteAllText(snapshot, "memory: lots");

        var run = await CliRun.Of("recommend", "--request", "hello", "--snapshot", snapshot, "--catalog", ShippedCatalog);

        Assert.Contains($"{snapshot}: not a snapshot", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Fact]
    public async Task Recommend_CorruptCatalog_FailsNamingTheEntryAndField()
    {
        string catalog = _temp.Combine("catalog.json");
        File.WriteAllText(catalog, """{ "models": [ { "id": "x", "format": "onnx-genai", "tier": 0, "parameters": 1, "bytes": 1, "ramBytes": 0 } ] }""");

        var run = await CliRun.Of("recommend", "--request", "hello", "--snapshot", Snapshot(availableMb: 100), "--catalog", catalog);

        Assert.Contains("models[0] \"x\": \"ramBytes\" must be a whole number at least 1", run.SingleErrorLine(expectedExitCode: 1));
    }

    [Theory]
    [InlineData("""{"prompt": ""}""", "--request: prompt is empty")]
    [InlineData("""{"prompt": "hi", "minQuality": 2}""", "--request: minQuality must be a number from 0 to 1")]
    public async Task Recommend_BadRequest_IsAUsageError(string request, string message)
    {
        var run = await CliRun.Of("recommend", "--request", request, "--snapshot", Snapshot(availableMb: 100), "--catalog", ShippedCatalog);

        Assert.Contains(message, run.SingleErrorLine(expectedExitCode: 2));
    }

    [Fact]
    public async Task Serve_CorruptCatalog_StopsTheStartNamingTheEntry()
    {
        string catalog = _temp.Combine("catalog.json");
        File.WriteAllText(catalog, """{ "models": [ { "id": "x", "format": "gguf" } ] }""");
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var run = await CliRun.Of(limit.Token, "serve", $"--Mqtt:EmbeddedPort={FreePort.Next()}", $"--Models:CatalogPath={catalog}");

        Assert.Contains("edgellm: catalog: ", run.SingleErrorLine(expectedExitCode: 2));
        Assert.Contains("models[0] \"x\": \"format\" must be one of", run.Error);
    }

    public void Dispose() => _temp.Dispose();

    private static string ShippedCatalog => Path.Combine(AppContext.BaseDirectory, "catalog.json");

    private string Snapshot(long availableMb)
    {
        string path = _temp.Combine($"snapshot-{availableMb}.json");
        File.WriteAllText(path, $$"""{ "board": "Raspberry Pi 4 Model B Rev 1.4", "memory": { "totalBytes": 2147483648, "availableBytes": {{availableMb << 20}} }, "cpu": { "cores": 4, "temperatureCelsius": 48.5 } }""");
        return path;
    }

    private string FakeTree(params (string Path, string Content)[] files)
    {
        string root = _temp.Combine($"board-{Guid.NewGuid():N}");
        foreach (var (path, content) in files)
        {
            string full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }

        return root;
    }
}
