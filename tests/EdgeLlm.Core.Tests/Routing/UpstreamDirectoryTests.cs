using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Tests.Routing;

public sealed class UpstreamDirectoryTests
{
    private static readonly CatalogModel Model = new() { Id = "m", Format = ModelFormats.OnnxGenAi };

    [Fact]
    public void Reachable_UpwardsIsTheUpstreamTierAndThoseAboveIt_OnlineAndNotThisNode()
    {
        var directory = Directory(("pi-07", 0, true), ("pi-08", 0, true), ("gw-1", 1, true), ("gw-2", 1, false), ("dc", 2, true), ("edge", 3, true));

        Assert.Equal(["dc", "edge", "gw-1"], directory.Reachable("pi-07", ownTier: 0, upstreamTier: 1).Select(a => a.Node));
        Assert.Equal(["dc", "edge"], directory.Reachable("pi-07", ownTier: 0, upstreamTier: 2).Select(a => a.Node));
    }

    [Fact]
    public void Reachable_AnUpstreamTierAtOrBelowThisNodesOwnIsThatTierAlone()
    {
        var directory = Directory(("pi-07", 0, true), ("gw-1", 1, true), ("gw-2", 1, true), ("dc", 2, true));

        Assert.Equal(["pi-07"], directory.Reachable("gw-1", ownTier: 1, upstreamTier: 0).Select(a => a.Node));
        Assert.Equal(["gw-2"], directory.Reachable("gw-1", ownTier: 1, upstreamTier: 1).Select(a => a.Node));
    }

    [Fact]
    public void Update_OfflineWillReplacesTheAdvertisement_AndRemoveForgetsTheNode()
    {
        var directory = Directory(("gw-1", 1, true), ("gw-2", 1, true));

        directory.Update(new UpstreamAdvertisement("gw-1", 1, Online: false, [], 0, null));
        directory.Remove("gw-2");

        Assert.Empty(directory.Reachable("pi-07", 0, 1));
    }

    [Fact]
    public void RecordRoundTrip_IsSmoothedAndGivenToEveryNodeOfThatTier()
    {
        var directory = Directory(("gw-1", 1, true), ("dc", 2, true));

        directory.RecordRoundTrip(1, 10);
        directory.RecordRoundTrip(1, 20);

        var reachable = directory.Reachable("pi-07", 0, 1);
        Assert.Equal(13, reachable.Single(a => a.Node == "gw-1").RoundTripMs!.Value, precision: 6);
        Assert.Null(reachable.Single(a => a.Node == "dc").RoundTripMs);
    }

    private static UpstreamDirectory Directory(params (string Node, int Tier, bool Online)[] nodes)
    {
        var directory = new UpstreamDirectory();
        foreach (var (node, tier, online) in nodes)
        {
            directory.Update(new UpstreamAdvertisement(node, tier, online, [Model], 0, null));
        }

        return directory;
    }
}
