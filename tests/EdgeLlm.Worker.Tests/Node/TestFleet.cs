using EdgeLlm.Core.Options;
using EdgeLlm.Core.Routing;
using EdgeLlm.Tests;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// Nodes of several tiers on one broker, under a topic prefix of their own (so that no other test's node,
/// nor a session it left behind, shares their tier subscriptions), with a catalog that rates stories260K
/// int4 on a slow Pi 4 (tier 0) and fp32 as a gateway model (tier 1) of better quality.
/// </summary>
internal sealed class TestFleet : IDisposable
{
    private const string Catalog = """
        {
          "version": 1,
          "models": [
            { "id": "stories260k-int4", "tier": 0, "format": "onnx-genai", "quantization": "int4",
              "parameters": 260032, "bytes": 300000, "ramBytes": 50000000, "contextLength": 512,
              "domains": { "stories": 0.3 },
              "rates": { "pi4": { "decodeTokensPerSecond": 20, "prefillTokensPerSecond": 100 },
                         "x64": { "decodeTokensPerSecond": 2000, "prefillTokensPerSecond": 20000 } },
              "sources": [ { "url": "file:///models/stories260k-int4.tar", "sha256": "0000000000000000000000000000000000000000000000000000000000000000" } ] },
            { "id": "stories260k-fp32", "tier": 1, "format": "onnx-genai", "quantization": "fp32",
              "parameters": 260032, "bytes": 1100000, "ramBytes": 50000000, "contextLength": 512,
              "domains": { "stories": 0.5 },
              "rates": { "x64": { "decodeTokensPerSecond": 1500, "prefillTokensPerSecond": 15000 } },
              "sources": [ { "url": "file:///models/stories260k-fp32.tar", "sha256": "0000000000000000000000000000000000000000000000000000000000000000" } ] }
          ]
        }
        """;

    private readonly TempDirectory _directory = new();
    private readonly string _server;

    public TestFleet(string server)
    {
        _server = server;
        Prefix = $"fleet{Guid.NewGuid():N}"[..13];
        CatalogPath = _directory.Combine("catalog.json");
        File.WriteAllText(CatalogPath, Catalog);
    }

    public string Prefix { get; }

    public string CatalogPath { get; }

    /// <summary>The topic a requester asks node <paramref name="nodeId"/> on.</summary>
    public string AskTopic(string nodeId) => $"{Prefix}/{nodeId}/ask/q";

    /// <summary>The settings of a fleet node: its id, tier, the broker, the prefix, its own request topic and the catalog.</summary>
    public string[] Settings(string nodeId, int tier, params string[] more) =>
    [
        $"Node:Id={nodeId}",
        $"Node:Tier={tier}",
        $"Mqtt:Server={_server}",
        $"Mqtt:TopicPrefix={Prefix}",
        $"Mqtt:RequestTopic={Prefix}/{nodeId}/ask/#",
        "Mqtt:StatusIntervalSeconds=1",
        $"Models:CatalogPath={CatalogPath}",
        .. more,
    ];

    public Task<RunningNode> StartAsync(string nodeId, int tier, params string[] more) => RunningNode.StartAsync(Settings(nodeId, tier, more));

    /// <summary>Waits until <paramref name="node"/> has heard <paramref name="upstreams"/> advertise themselves online, with their models.</summary>
    public static async Task WaitUntilReachableAsync(RunningNode node, params string[] upstreams)
    {
        var directory = node.Service<UpstreamDirectory>();
        var self = node.Service<IOptions<NodeOptions>>().Value;
        int upstreamTier = node.Service<IOptions<UpstreamOptions>>().Value.Tier ?? throw new InvalidOperationException($"{self.Id} has no Upstream:Tier");
        await Eventually.TrueAsync(
            () => upstreams.All(id => directory.Reachable(self.Id, self.Tier, upstreamTier).Any(a => a.Node == id && a.Models.Count > 0)),
            TimeSpan.FromSeconds(20),
            $"{self.Id} hearing {string.Join(", ", upstreams)} advertise a model");
    }

    public void Dispose() => _directory.Dispose();
}
