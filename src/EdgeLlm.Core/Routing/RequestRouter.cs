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
public sealed class RequestRouter(
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

    /// <summary>The decision with every reachable upstream in view.</summary>
    public Decision Route(Request request, int queueDepth) =>
        Decide(request, queueDepth, upstream.Value.Tier is int tier ? upstreams.Reachable(node.Value.Id, node.Value.Tier, tier) : []);

    /// <summary>The decision as if no upstream existed: what this node can do on its own (the fallback when the upstream is silent).</summary>
    public Decision RouteLocally(Request request, int queueDepth) => Decide(request, queueDepth, []);

    private Decision Decide(Request request, int queueDepth, IReadOnlyList<UpstreamAdvertisement> reachable)
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
        return Recommender.Recommend(new RoutingInput(
            request, snapshot, catalog, settings, models.AvailableModelIds, models.LoadedModelIds, queueDepth, admission.Value.QueueCapacity, reachable, acquisition?.Acquirable));
    }
}
