using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Core.Routing;

/// <summary>How this node routes: its place in the hierarchy and its limits.</summary>
/// <param name="BoardClass">Which measured rates apply here ("pi4", "pi5", "x64", …).</param>
/// <param name="MemoryReserveBytes">Memory kept free for the system: a model fits in what is usable minus this.</param>
/// <param name="ThermalLimitCelsius">At or above this the node runs nothing locally.</param>
/// <param name="MinBatteryPercent">On battery below this the node runs nothing locally.</param>
/// <param name="OnDemand">Whether a request may wait for a model to be pulled (<see cref="Options.OnDemandPolicies"/>).</param>
public sealed record NodeRouting(int Tier, string BoardClass, long MemoryReserveBytes, double ThermalLimitCelsius, int MinBatteryPercent, int DefaultMaxTokens, string OnDemand = Options.OnDemandPolicies.Auto);

/// <summary>A node of another tier as its retained status advertises it; the recommender counts every online one as reachable.</summary>
/// <param name="Models">The models it serves; each may carry its domains for nodes whose catalog lacks it.</param>
/// <param name="RoundTripMs">Measured request round trip to it, when known.</param>
public sealed record UpstreamAdvertisement(string Node, int Tier, bool Online, IReadOnlyList<CatalogModel> Models, int QueueDepth, double? RoundTripMs);

/// <summary>Everything the recommender decides from; it reads nothing else.</summary>
/// <param name="LocalModels">Ids of the models this node can run now; null counts every catalog model of its tier.</param>
/// <param name="LoadedModels">Ids already in memory: only their key/value cache must still fit.</param>
/// <param name="Acquirable">Catalog models the node could pull, with the predicted time (ms) to pull, convert and load each.</param>
public sealed record RoutingInput(
    Request Request,
    ResourceSnapshot Snapshot,
    ModelCatalog Catalog,
    NodeRouting Node,
    IReadOnlyCollection<string>? LocalModels,
    IReadOnlyCollection<string> LoadedModels,
    int QueueDepth,
    int QueueCapacity,
    IReadOnlyList<UpstreamAdvertisement> Upstreams,
    IReadOnlyDictionary<string, double>? Acquirable = null);
