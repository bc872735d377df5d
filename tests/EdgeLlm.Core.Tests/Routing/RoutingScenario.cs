using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Tests.Routing;

/// <summary>Builds recommender inputs: a catalog, a board, a node, upstream advertisements, a request.</summary>
internal sealed record RoutingScenario
{
    public const long MiB = 1L << 20;

    public static readonly CatalogModel TinyGeneral = Model("tiny-general", tier: 0, parameters: 260_000, bytes: 340_000, ramMb: 60, decode: 400, domains: new() { ["general"] = 0.3, ["stories"] = 0.3 });
    public static readonly CatalogModel TinyGeneralInt8 = TinyGeneral with { Id = "tiny-general-int8", Bytes = 460_000 };
    public static readonly CatalogModel SmallIndustrial = Model("small-industrial", tier: 0, parameters: 135_000_000, bytes: 70_000_000, ramMb: 300, decode: 40, domains: new() { ["industrial"] = 0.6, ["general"] = 0.4 });
    public static readonly CatalogModel GatewayMedical = Model("gateway-medical", tier: 1, parameters: 7_000_000_000, bytes: 0, ramMb: 1, decode: 25, domains: new() { ["general"] = 0.7, ["medical"] = 0.6 }, subdomains: new() { ["pediatrics"] = 0.55 }, format: ModelFormats.OpenAi);
    public static readonly CatalogModel Hosted = Model("hosted-large", tier: 2, parameters: 1, bytes: 0, ramMb: 1, decode: 80, domains: new() { ["general"] = 0.9, ["medical"] = 0.85, ["industrial"] = 0.85 }, subdomains: new() { ["pediatrics"] = 0.85 }, format: ModelFormats.OpenAi) with { ThirdParty = true, CostPer1kTokens = 0.5 };

    public IReadOnlyList<CatalogModel> Models { get; init; } = [TinyGeneral, GatewayMedical, Hosted];

    public ResourceSnapshot Snapshot { get; init; } = Board(availableMb: 1200);

    public int Tier { get; init; }

    public IReadOnlyCollection<string>? LocalModels { get; init; }

    public IReadOnlyCollection<string> Loaded { get; init; } = [];

    public int QueueDepth { get; init; }

    public int QueueCapacity { get; init; } = 16;

    public IReadOnlyList<UpstreamAdvertisement> Upstreams { get; init; } = [Online("gateway-1", GatewayMedical), Online("cloud", Hosted)];

    /// <summary>Catalog models the node could pull, with the predicted time (ms) to have each.</summary>
    public IReadOnlyDictionary<string, double>? Acquirable { get; init; }

    public string OnDemand { get; init; } = Core.Options.OnDemandPolicies.Auto;

    public static CatalogModel Model(string id, int tier, long parameters, long bytes, int ramMb, double decode, Dictionary<string, double> domains, Dictionary<string, double>? subdomains = null, string format = ModelFormats.OnnxGenAi) => new()
    {
        Id = id,
        Tier = tier,
        Format = format,
        Parameters = parameters,
        Bytes = bytes,
        RamBytes = ramMb * MiB,
        KvBytesPerToken = 1280,
        ContextLength = 2048,
        Domains = domains,
        Subdomains = subdomains ?? [],
        Rates = new Dictionary<string, ModelRate> { ["pi4"] = new(decode, decode * 10) },
    };

    /// <summary>A Raspberry Pi 4 with the given memory free, at 45 °C, on mains power.</summary>
    public static ResourceSnapshot Board(long availableMb, double celsius = 45, int throttledBits = 0, bool onBattery = false, int batteryPercent = 100) => new()
    {
        Board = "Raspberry Pi 4 Model B Rev 1.4",
        Memory = new MemoryState(2048 * MiB, availableMb * MiB),
        Cpu = new CpuState(4, 0.1, 0.1, 0.1, 5, celsius),
        Thermal = new ThermalState { Zones = [new ThermalZone("thermal_zone0", "cpu-thermal", celsius)], Throttling = ThrottlingState.FromBits(throttledBits) },
        Power = new PowerState { Supplies = onBattery ? [new PowerSupply("BAT0", "Battery", null, batteryPercent, "Discharging")] : [new PowerSupply("AC", "Mains", true, null, null)] },
    };

    public static UpstreamAdvertisement Online(string node, CatalogModel model, int queueDepth = 0, double roundTripMs = 20) =>
        new(node, model.Tier, Online: true, [model], queueDepth, roundTripMs);

    public static Request Ask(string prompt, string? domain = null, string? subdomain = null, int? maxTokens = 64, int? maxLatencyMs = null, double? minQuality = null, double? maxCost = null, Privacy privacy = Privacy.Any) =>
        new() { Prompt = prompt, Domain = domain, Subdomain = subdomain, MaxTokens = maxTokens, MaxLatencyMs = maxLatencyMs, MinQuality = minQuality, MaxCost = maxCost, Privacy = privacy, Format = RequestFormat.Envelope };

    public Decision Decide(Request request) => Recommender.Recommend(Input(request));

    public RoutingInput Input(Request request) => new(
        request,
        Snapshot,
        new ModelCatalog(Models, new Dictionary<string, IReadOnlyList<string>>
        {
            ["medical"] = ["fever", "child", "dose", "pediatrics"],
            ["industrial"] = ["conveyor", "vibration", "motor"],
        }),
        new NodeRouting(Tier, "pi4", MemoryReserveBytes: 128 * MiB, ThermalLimitCelsius: 80, MinBatteryPercent: 10, DefaultMaxTokens: 128, OnDemand),
        LocalModels,
        Loaded,
        QueueDepth,
        QueueCapacity,
        Upstreams,
        Acquirable);
}
