using CsCheck;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using static EdgeLlm.Core.Tests.Routing.RoutingScenario;

namespace EdgeLlm.Core.Tests.Routing;

/// <summary>Properties of the recommender over generated catalogs, boards, queues, upstreams and requests.</summary>
public sealed class RecommenderProperties
{
    private static readonly string[] DomainNames = ["general", "medical", "industrial", "stories"];

    private static readonly Gen<Dictionary<string, double>> Domains =
        Gen.Select(Gen.Bool.Array[DomainNames.Length], Gen.Double[0, 1].Array[DomainNames.Length], (covered, quality) =>
            DomainNames.Where((_, i) => covered[i]).ToDictionary(d => d, d => Math.Round(quality[Array.IndexOf(DomainNames, d)], 2)));

    private static readonly Gen<CatalogModel> LocalModel =
        Gen.Select(Gen.Int[0, 1_000_000], Gen.Int[20, 2000], Gen.Double[1, 500], Domains, (n, ramMb, decode, domains) =>
            Model($"local-{n}", tier: 0, parameters: 1 + n, bytes: ramMb * MiB, ramMb, decode, domains));

    private static readonly Gen<CatalogModel> UpstreamModel =
        Gen.Select(Gen.Int[0, 1_000_000], Gen.Int[1, 2], Gen.Double[1, 200], Domains, Gen.Double[0, 1], Gen.Bool, (n, tier, decode, domains, cost, thirdParty) =>
            Model($"up-{n}", tier, parameters: 1_000_000 + n, bytes: 0, ramMb: 1, decode, domains, format: ModelFormats.OpenAi) with { CostPer1kTokens = Math.Round(cost, 3), ThirdParty = thirdParty });

    private static readonly Gen<ResourceSnapshot> Snapshot =
        Gen.Select(Gen.Int[0, 4000], Gen.Double[30, 95], Gen.OneOf(0, 0x2, 0x5, 0x8, 0x50005), Gen.Bool, Gen.Int[0, 100], (availableMb, celsius, bits, battery, percent) =>
            Board(availableMb, Math.Round(celsius, 1), bits, battery, percent));

    private static readonly Gen<Request> AnyRequest =
        Gen.Select(Gen.OneOf<string?>(null, "general", "medical", "industrial", "stories", "law"), Gen.Int[1, 512], Gen.Double[0, 1], Gen.Bool, Gen.Double[0, 0.5], Gen.OneOf(Privacy.Any, Privacy.Fleet, Privacy.Local), Gen.Int[10, 60_000], Gen.Bool,
            (domain, maxTokens, minQuality, capCost, maxCost, privacy, deadline, hasDeadline) =>
                Ask("The conveyor motor vibrates and the child has a fever", domain, maxTokens: maxTokens, minQuality: Math.Round(minQuality, 2), maxCost: capCost ? Math.Round(maxCost, 3) : null, privacy: privacy, maxLatencyMs: hasDeadline ? deadline : null));

    private static readonly Gen<RoutingScenario> Scenario =
        Gen.Select(LocalModel.Array[0, 3], UpstreamModel.Array[0, 3], Gen.Bool.Array[3], Snapshot, Gen.Int[0, 20], (locals, upstreams, online, snapshot, queue) =>
            new RoutingScenario
            {
                Models = [.. locals.DistinctBy(m => m.Id), .. upstreams.DistinctBy(m => m.Id)],
                Snapshot = snapshot,
                QueueDepth = queue,
                Upstreams = [.. upstreams.DistinctBy(m => m.Id).Select((m, i) => new UpstreamAdvertisement($"node-{i}", m.Tier, online[i], [m], 0, 10))],
            });

    [Fact]
    public void WhenAnyCandidateMeetsEveryHardConstraint_TheChoiceMeetsThemAll()
    {
        // Without a deadline, so that an independent check of the other constraints can tell the adequate candidates.
        Gen.Select(Scenario, AnyRequest).Sample((scenario, request) =>
        {
            request = request with { MaxLatencyMs = null };
            var decision = scenario.Decide(request);
            bool anyAdequate = scenario.Models.Any(m => MeetsAll(scenario, request, decision.Domain, m));

            Assert.Equal(anyAdequate, decision is { Degraded: false, Outcome: not RouteOutcome.Reject });
            if (anyAdequate)
            {
                Assert.True(MeetsAll(scenario, request, decision.Domain, scenario.Models.Single(m => m.Id == decision.Model)), $"{decision.Model} misses a requirement");
            }
        }, iter: 2000);
    }

    [Fact]
    public void MoreFreeMemory_NeverTurnsALocalChoiceIntoAnEscalation()
    {
        Gen.Select(Scenario, AnyRequest, Gen.Int[1, 4000]).Sample((scenario, request, extraMb) =>
        {
            var before = scenario.Decide(request);
            var roomier = scenario with { Snapshot = scenario.Snapshot with { Memory = scenario.Snapshot.Memory with { AvailableBytes = scenario.Snapshot.Memory.AvailableBytes + extraMb * MiB } } };

            var after = roomier.Decide(request);

            if (before.Outcome == RouteOutcome.Local)
            {
                Assert.Equal(RouteOutcome.Local, after.Outcome);
                Assert.DoesNotContain(Reasons.Memory, after.Reasons);
            }
        }, iter: 2000);
    }

    [Fact]
    public void PrivacyLocal_NeverEscalates()
    {
        Gen.Select(Scenario, AnyRequest).Sample((scenario, request) =>
            Assert.NotEqual(RouteOutcome.Escalate, scenario.Decide(request with { Privacy = Privacy.Local }).Outcome), iter: 2000);
    }

    // §7's constraints, stated afresh: where the model may run, whether it fits, covers, reaches and costs.
    private static bool MeetsAll(RoutingScenario scenario, Request request, string domain, CatalogModel model)
    {
        double? quality = model.QualityFor(domain, request.Subdomain);
        if (quality is null || quality < (request.MinQuality ?? 0))
        {
            return false;
        }

        int tokens = Recommender.EstimateTokens(request) + (request.MaxTokens ?? 128);
        if (model.Tier == scenario.Tier)
        {
            var snapshot = scenario.Snapshot;
            bool boardLimited = snapshot.HottestCelsius >= 80
                || snapshot.Thermal.Throttling?.UnderVoltageNow == true
                || (snapshot.Power.OnBattery == true && snapshot.Power.BatteryPercent < 10)
                || scenario.QueueDepth >= scenario.QueueCapacity;
            bool fits = snapshot.UsableMemoryBytes is not long usable || model.RamBytes + model.KvBytesPerToken * tokens <= usable - 128 * MiB;
            return !boardLimited && fits;
        }

        bool reachable = scenario.Upstreams.Any(a => a.Online && a.Tier > scenario.Tier && a.Models.Any(m => m.Id == model.Id));
        bool allowed = request.Privacy == Privacy.Any || (request.Privacy == Privacy.Fleet && !model.ThirdParty);
        double cost = model.CostPer1kTokens * tokens / 1000.0;
        return reachable && allowed && cost <= (request.MaxCost ?? double.MaxValue);
    }
}
