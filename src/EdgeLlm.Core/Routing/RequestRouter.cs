using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Routing;

/// <summary>Gathers the node's state for the <see cref="Recommender"/>: the latest snapshot, the catalog, the models here, the queue.</summary>
public sealed class RequestRouter(
    ModelCatalog catalog,
    IResourceSnapshotSource resources,
    IModelProvider models,
    IOptions<NodeOptions> node,
    IOptions<RoutingOptions> routing,
    IOptions<ModelsOptions> modelOptions,
    IOptions<AdmissionOptions> admission)
{
    public ModelCatalog Catalog => catalog;

    public Decision Route(Request request, int queueDepth)
    {
        var snapshot = resources.Latest;
        var settings = new NodeRouting(
            node.Value.Tier,
            BoardClasses.Of(routing.Value.BoardClass, snapshot.Board),
            (long)modelOptions.Value.MemoryReserveMb << 20,
            routing.Value.ThermalLimitCelsius,
            routing.Value.MinBatteryPercent,
            admission.Value.DefaultMaxTokens);
        // Escalation arrives with the hierarchy: until then no upstream is reachable from here.
        return Recommender.Recommend(new RoutingInput(request, snapshot, catalog, settings, models.AvailableModelIds, models.LoadedModelIds, queueDepth, admission.Value.QueueCapacity, []));
    }
}
