using System.Text.Json;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
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
        var status = new NodeStatus("gw-1", 1, "0.1.0+abc", [model], QueueDepth: 3, UptimeSeconds: 42, Answers: 7, Cancelled: 1, new Dictionary<string, long> { ["busy"] = 2 }, new ResourceSnapshot { Memory = new MemoryState(AvailableBytes: 123) },
            [new PullProgress("stories260k-int4", "https://example.org/stories260K.bin", 4096, null)]);

        using var json = JsonDocument.Parse(NodeStatusFormatter.Online(status));
        var advertisement = AdvertisementReader.Read(json.RootElement);

        Assert.Equal(("gw-1", 1, true, 3), (advertisement.Node, advertisement.Tier, advertisement.Online, advertisement.QueueDepth));
        var advertised = Assert.Single(advertisement.Models);
        Assert.Equal(0.55, advertised.QualityFor("medical", "pediatrics"));
        Assert.Equal("0.1.0+abc", json.RootElement.GetProperty("version").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("counters").GetProperty("errors").GetProperty("busy").GetInt64());
        Assert.Equal((7, 1), (json.RootElement.GetProperty("counters").GetProperty("answers").GetInt64(), json.RootElement.GetProperty("counters").GetProperty("cancelled").GetInt64()));
        Assert.Equal(123, json.RootElement.GetProperty("resources").GetProperty("memory").GetProperty("availableBytes").GetInt64());
        var pull = Assert.Single(json.RootElement.GetProperty("pulls").EnumerateArray().ToList());
        Assert.Equal(("stories260k-int4", 4096, JsonValueKind.Null), (pull.GetProperty("model").GetString(), pull.GetProperty("bytes").GetInt64(), pull.GetProperty("totalBytes").ValueKind));
    }

    [Fact]
    public void Offline_IsAnOfflineAdvertisement()
    {
        using var json = JsonDocument.Parse(NodeStatusFormatter.Offline(new NodeOptions { Id = "pi-07", Tier = 0 }));

        var advertisement = AdvertisementReader.Read(json.RootElement);

        Assert.Equal(("pi-07", 0, false), (advertisement.Node, advertisement.Tier, advertisement.Online));
        Assert.Empty(advertisement.Models);
    }
}
