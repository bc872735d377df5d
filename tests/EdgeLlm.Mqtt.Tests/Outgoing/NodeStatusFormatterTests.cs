using System.Text.Json;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;

namespace EdgeLlm.Mqtt.Tests.Outgoing;

public sealed class NodeStatusFormatterTests
{
    [Fact]
    public void Online_IsReadBackAsAnUpstreamAdvertisement()
    {
        var model = new CatalogModel { Id = "gw-qwen", Tier = 1, Format = ModelFormats.OpenAi, Domains = new Dictionary<string, double> { ["medical"] = 0.6 }, Subdomains = new Dictionary<string, double> { ["pediatrics"] = 0.55 } };
        var counters = new NodeCounters();
        var at = DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        counters.Count(new Failure("r-1", ErrorCode.Busy, "busy"), at, TimeSpan.FromMilliseconds(3));
        counters.Count(new Failure("r-2", ErrorCode.Busy, "busy"), at, TimeSpan.FromMilliseconds(3));
        counters.Count(LocalAnswer("r-3", "local", ["fits-local"]), at, TimeSpan.FromMilliseconds(250));
        counters.Count(LocalAnswer("r-4", "escalated", ["quality", "thermal"]) with { FinishReason = Core.Replies.Answer.Cancelled }, at.AddSeconds(1), TimeSpan.FromMilliseconds(900));
        counters.Generated(tokens: 30, seconds: 2);
        var status = new NodeStatus("gw-1", 1, "0.1.0+abc", [model], Loaded: ["gw-qwen"], QueueDepth: 3, UptimeSeconds: 42, counters.TokensPerSecond(), counters, new ResourceSnapshot { Memory = new MemoryState(AvailableBytes: 123) },
            [new PullProgress("stories260k-int4", "https://example.org/stories260K.bin", 4096, null)]);

        using var json = JsonDocument.Parse(NodeStatusFormatter.Online(status));
        var advertisement = AdvertisementReader.Read(json.RootElement);

        Assert.Equal(("gw-1", 1, true, 3), (advertisement.Node, advertisement.Tier, advertisement.Online, advertisement.QueueDepth));
        var advertised = Assert.Single(advertisement.Models);
        Assert.Equal(0.55, advertised.QualityFor("medical", "pediatrics"));
        Assert.Equal("0.1.0+abc", json.RootElement.GetProperty("version").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("counters").GetProperty("errors").GetProperty("busy").GetInt64());
        var counted = json.RootElement.GetProperty("counters");
        Assert.Equal((2, 1), (counted.GetProperty("answers").GetInt64(), counted.GetProperty("cancelled").GetInt64()));
        Assert.Equal((2, 1, 1), (counted.GetProperty("decisions").GetProperty("refused").GetInt64(), counted.GetProperty("decisions").GetProperty("local").GetInt64(), counted.GetProperty("decisions").GetProperty("escalated").GetInt64()));
        Assert.Equal((1, 1), (counted.GetProperty("reasons").GetProperty("quality").GetInt64(), counted.GetProperty("reasons").GetProperty("fits-local").GetInt64()));
        Assert.Equal(15, json.RootElement.GetProperty("tokensPerSecond").GetDouble());
        Assert.Equal(["gw-qwen"], json.RootElement.GetProperty("loaded").EnumerateArray().Select(e => e.GetString()));
        var recent = json.RootElement.GetProperty("recent").EnumerateArray().ToList();
        Assert.Equal(["r-4", "r-3", "r-2", "r-1"], recent.Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(("escalated", "quality,thermal", 900, JsonValueKind.Null), (recent[0].GetProperty("decision").GetString(), recent[0].GetProperty("reasons").GetString(), recent[0].GetProperty("ms").GetInt64(), recent[0].GetProperty("error").ValueKind));
        Assert.Equal(("refused", "busy"), (recent[3].GetProperty("decision").GetString(), recent[3].GetProperty("error").GetString()));
        Assert.Equal(123, json.RootElement.GetProperty("resources").GetProperty("memory").GetProperty("availableBytes").GetInt64());
        var pull = Assert.Single(json.RootElement.GetProperty("pulls").EnumerateArray().ToList());
        Assert.Equal(("stories260k-int4", 4096, JsonValueKind.Null), (pull.GetProperty("model").GetString(), pull.GetProperty("bytes").GetInt64(), pull.GetProperty("totalBytes").ValueKind));
    }

    [Fact]
    public void Online_KeepsOnlyTheLastDecisions()
    {
        var counters = new NodeCounters();
        for (int i = 0; i < RecentDecisions.Capacity + 5; i++)
        {
            counters.Count(LocalAnswer($"r-{i}", "local", []), DateTimeOffset.UnixEpoch, TimeSpan.Zero);
        }

        using var json = JsonDocument.Parse(NodeStatusFormatter.Online(new NodeStatus("pi-1", 0, "v", [], [], 0, 1, null, counters, new ResourceSnapshot(), [])));

        var recent = json.RootElement.GetProperty("recent").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(RecentDecisions.Capacity, recent.Count);
        Assert.Equal($"r-{RecentDecisions.Capacity + 4}", recent[0]);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("tokensPerSecond").ValueKind);
    }

    [Fact]
    public void Offline_IsAnOfflineAdvertisement()
    {
        using var json = JsonDocument.Parse(NodeStatusFormatter.Offline(new NodeOptions { Id = "pi-07", Tier = 0 }));

        var advertisement = AdvertisementReader.Read(json.RootElement);

        Assert.Equal(("pi-07", 0, false), (advertisement.Node, advertisement.Tier, advertisement.Online));
        Assert.Empty(advertisement.Models);
    }

    private static Answer LocalAnswer(string id, string decision, IReadOnlyList<string> reasons) =>
        new(id, "text", "stop", "gw-1", 1, "gw-qwen", new Route(decision, reasons), new Usage(3, 4), 10);
}
