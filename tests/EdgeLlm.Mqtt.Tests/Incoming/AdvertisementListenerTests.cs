using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Mqtt.Incoming;
using EdgeLlm.Mqtt.Outgoing;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>The fleet's statuses on the embedded broker, in this process, as they fill the node's directory of upstream nodes.</summary>
public sealed class AdvertisementListenerTests : IAsyncLifetime
{
    private readonly EmbeddedNode _node = EmbeddedNode.Create();
    private readonly UpstreamDirectory _directory = new();
    private RecordingClient _fleet = null!;

    public async Task InitializeAsync()
    {
        await _node.StartBrokerAsync();
        _fleet = await _node.ConnectClientAsync("fleet");
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task ARetainedStatus_FillsTheDirectoryAtStart_WithTheModelsAndDomainsItAdvertises()
    {
        await _fleet.PublishAsync(Status("gw-1", Online("gw-1", tier: 1, queue: 3)));

        await StartListeningAsync();
        await Eventually.TrueAsync(() => Upstream().Count == 1);

        var gateway = Upstream().Single();
        Assert.Equal(("gw-1", 1, 3), (gateway.Node, gateway.Tier, gateway.QueueDepth));
        Assert.Equal(0.7, gateway.Models.Single().QualityFor("medical", null));
    }

    [Fact]
    public async Task AnOfflineStatus_TakesTheNodeOut_AndAClearedOne_ForgetsIt()
    {
        await StartListeningAsync();
        await _fleet.PublishAsync(Status("gw-1", Online("gw-1", tier: 1, queue: 0)));
        await Eventually.TrueAsync(() => Upstream().Count == 1);

        await _fleet.PublishAsync(Status("gw-1", NodeStatusFormatter.Offline(new NodeOptions { Id = "gw-1", Tier = 1 })));
        await Eventually.TrueAsync(() => Upstream().Count == 0);
        await _fleet.PublishAsync(Status("gw-1", Online("gw-1", tier: 1, queue: 0)));
        await Eventually.TrueAsync(() => Upstream().Count == 1);
        await _fleet.PublishAsync(Status("gw-1", []));

        await Eventually.TrueAsync(() => Upstream().Count == 0);
    }

    [Theory]
    [InlineData("""{"node": "gw-1", "online": false, "tier": 1}""")]
    [InlineData("""not JSON""")]
    [InlineData("""{"online": false}""")]
    public async Task AStatusNamingAnotherNode_OrNoStatusAtAll_ChangesNothing(string payload)
    {
        await StartListeningAsync();
        await _fleet.PublishAsync(Status("gw-1", Online("gw-1", tier: 1, queue: 0)));
        await Eventually.TrueAsync(() => Upstream().Count == 1);

        await _fleet.PublishAsync(Status("gw-2", System.Text.Encoding.UTF8.GetBytes(payload)));
        await _fleet.PublishAsync(Status("gw-3", Online("gw-3", tier: 1, queue: 0)));
        await Eventually.TrueAsync(() => Upstream().Any(a => a.Node == "gw-3"));

        // Delivered in order: gw-2's message was read before gw-3's, and gw-1 is still online.
        Assert.Equal(["gw-1", "gw-3"], Upstream().Select(a => a.Node));
    }

    private async Task StartListeningAsync()
    {
        var listener = new AdvertisementListener(Create(_node.Mqtt), Create(new UpstreamOptions { Tier = 1 }), _node.Connection, _directory, NullLogger<AdvertisementListener>.Instance);
        await listener.StartAsync(CancellationToken.None);
    }

    private IReadOnlyList<UpstreamAdvertisement> Upstream() => _directory.Reachable(_node.Node.Id, ownTier: 0, upstreamTier: 1);

    private MqttApplicationMessage Status(string node, byte[] payload) => new MqttApplicationMessageBuilder()
        .WithTopic(_node.Mqtt.StatusTopic(node)).WithPayload(payload).WithRetainFlag(true).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static byte[] Online(string node, int tier, int queue)
    {
        var model = new CatalogModel { Id = "qwen2.5-1.5b", Tier = tier, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["medical"] = 0.7 } };
        return NodeStatusFormatter.Online(new NodeStatus(node, tier, "test", [model], [], queue, 10, null, new NodeCounters(), new ResourceSnapshot(), []));
    }
}
