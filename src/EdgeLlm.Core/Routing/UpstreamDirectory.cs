using System.Collections.Concurrent;

namespace EdgeLlm.Core.Routing;

/// <summary>
/// The nodes of other tiers as their retained status advertises them (online, models, queue), with the
/// round trip this node has measured to each tier. Fed by the status subscription and by escalations.
/// </summary>
public sealed class UpstreamDirectory
{
    // Each new round trip moves the estimate this far towards it: recent enough, steady enough.
    private const double Smoothing = 0.3;

    private readonly ConcurrentDictionary<string, UpstreamAdvertisement> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, double> _roundTrips = new();

    /// <summary>Records the node's latest advertisement; true when it is new or went online or offline with it.</summary>
    public bool Update(UpstreamAdvertisement advertisement)
    {
        bool changed = !_nodes.TryGetValue(advertisement.Node, out var previous) || previous.Online != advertisement.Online;
        _nodes[advertisement.Node] = advertisement;
        return changed;
    }

    /// <summary>A node whose retained status was cleared is forgotten.</summary>
    public void Remove(string node) => _nodes.TryRemove(node, out _);

    public void RecordRoundTrip(int tier, double milliseconds) =>
        _roundTrips.AddOrUpdate(tier, milliseconds, (_, previous) => previous + Smoothing * (milliseconds - previous));

    public double? RoundTripMs(int tier) => _roundTrips.TryGetValue(tier, out double milliseconds) ? milliseconds : null;

    /// <summary>
    /// The online nodes a request escalated to <paramref name="upstreamTier"/> can reach: that tier and, through
    /// it, those above; a tier configured at or below this node's own reaches that tier alone (and the hop
    /// rules stop the loop it makes).
    /// </summary>
    public IReadOnlyList<UpstreamAdvertisement> Reachable(string self, int ownTier, int upstreamTier) =>
        [.. _nodes.Values
            .Where(a => a.Online && a.Node != self && (upstreamTier > ownTier ? a.Tier >= upstreamTier : a.Tier == upstreamTier))
            .OrderBy(a => a.Node, StringComparer.Ordinal)
            .Select(a => a with { RoundTripMs = RoundTripMs(a.Tier) ?? a.RoundTripMs })];
}
