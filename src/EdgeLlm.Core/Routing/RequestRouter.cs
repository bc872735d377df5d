using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Routing;

/// <summary>
/// Gathers the node's state for the <see cref="Recommender"/>: the latest snapshot, the catalog, the models
/// here and those it could pull, the queue, and the upstream nodes this node can reach through its Upstream:Tier.
/// </summary>
/// <param name="acquisition">The model store, when this node pulls models on demand.</param>
internal sealed class RequestRouter(
    ModelCatalog catalog,
    IResourceSnapshotSource resources,
    IModelProvider models,
    UpstreamDirectory upstreams,
    IOptions<NodeOptions> node,
    IOptions<RoutingOptions> routing,
    IOptions<ModelsOptions> modelOptions,
    IOptions<AdmissionOptions> admission,
    IOptions<UpstreamOptions> upstream,
    IModelAcquisition? acquisition = null)
{
    public ModelCatalog Catalog => catalog;

    /// <summary>The decision with every reachable upstream and every model the node could pull in view.</summary>
    public Decision Route(Request request, int queueDepth) => Decide(request, queueDepth, ReachableUpstreams(), withPulls: true);

    /// <summary>The decision with the upstreams but only the models on the board: for a request whose pull failed, which must not wait for another.</summary>
    public Decision RouteWithoutPulls(Request request, int queueDepth) => Decide(request, queueDepth, ReachableUpstreams(), withPulls: false);

    /// <summary>What this node can do on its own with what is on the board: the fallback when the upstream is silent.</summary>
    public Decision RouteLocally(Request request, int queueDepth) => Decide(request, queueDepth, [], withPulls: false);

    private IReadOnlyList<UpstreamAdvertisement> ReachableUpstreams() =>
        upstream.Value.Tier is int tier ? upstreams.Reachable(node.Value.Id, node.Value.Tier, tier) : [];

    private Decision Decide(Request request, int queueDepth, IReadOnlyList<UpstreamAdvertisement> reachable, bool withPulls)
    {
        var snapshot = resources.Latest;
        var settings = new NodeRouting(
            node.Value.Tier,
            BoardClasses.Of(routing.Value.BoardClass, snapshot.Board),
            (long)modelOptions.Value.MemoryReserveMb << 20,
            routing.Value.ThermalLimitCelsius,
            routing.Value.MinBatteryPercent,
            admission.Value.DefaultMaxTokens,
            modelOptions.Value.OnDemand);
        // The models here as they are known: a folder the catalog lacks counts as it describes itself.
        var present = models.AvailableModels;
        var known = present.Aggregate(catalog, (merged, model) => merged.Including(model));
        return Recommender.Recommend(new RoutingInput(
            request, snapshot, known, settings, [.. present.Select(m => m.Id)], models.LoadedModelIds, queueDepth, admission.Value.QueueCapacity, reachable, withPulls ? acquisition?.Acquirable : null));
    }
}
