using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;
using static EdgeLlm.Core.Tests.Routing.RoutingScenario;

namespace EdgeLlm.Core.Tests.Routing;

public sealed class RecommenderTests
{
    [Fact]
    public void Recommend_PaperCaseStudy_PediatricsFromA2GBPiGoesToTheTierThatCoversIt()
    {
        // A clinician's question from a 2 GB Pi that holds only a general tiny model.
        var scenario = new RoutingScenario { LocalModels = [TinyGeneral.Id] };

        var decision = scenario.Decide(Ask("My child has had a fever of 39.2 for two days. What paracetamol dose?", domain: "medical", subdomain: "pediatrics", minQuality: 0.5));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Equal(GatewayMedical.Id, decision.Model);
        Assert.Equal(1, decision.Tier);
        Assert.Equal([Reasons.Domain], decision.Reasons);
        Assert.Equal(0.55, decision.Predicted.Quality);
        Assert.False(decision.Degraded);
    }

    [Fact]
    public void Recommend_RequestTheTinyModelCovers_StaysLocalOnTheSmallestBuild()
    {
        var scenario = new RoutingScenario { Models = [TinyGeneralInt8, TinyGeneral, GatewayMedical] };

        var decision = scenario.Decide(Ask("Tell me a story about a dragon", domain: "stories"));

        Assert.Equal((RouteOutcome.Local, TinyGeneral.Id, 0), (decision.Outcome, decision.Model, decision.Tier));
        Assert.Equal([Reasons.FitsLocal], decision.Reasons);
        Assert.NotNull(decision.Predicted.LatencyMs);
        Assert.Equal(0, decision.Predicted.Cost);
    }

    [Fact]
    public void Recommend_NoDomainGiven_ClassifiesTheKeywords()
    {
        var decision = new RoutingScenario().Decide(Ask("The child has a fever, what dose?"));

        Assert.Equal("medical", decision.Domain);
        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
    }

    [Fact]
    public void Recommend_NothingMatchesTheKeywords_IsGeneral()
    {
        var decision = new RoutingScenario().Decide(Ask("What time is it?"));

        Assert.Equal(("general", RouteOutcome.Local), (decision.Domain, decision.Outcome));
    }

    [Fact]
    public void Recommend_EveryAdequateTierFree_TakesTheLowestTier()
    {
        var freeCloud = Hosted with { CostPer1kTokens = 0 };
        var scenario = new RoutingScenario { Models = [TinyGeneral, GatewayMedical, freeCloud], Upstreams = [Online("cloud", freeCloud), Online("gateway-1", GatewayMedical)] };

        var decision = scenario.Decide(Ask("fever", domain: "medical"));

        Assert.Equal((RouteOutcome.Escalate, 1), (decision.Outcome, decision.Tier));
    }

    [Fact]
    public void Recommend_QualityAboveTheLocalModel_EscalatesForQuality()
    {
        var decision = new RoutingScenario().Decide(Ask("What time is it?", minQuality: 0.6));

        Assert.Equal((RouteOutcome.Escalate, GatewayMedical.Id), (decision.Outcome, decision.Model));
        Assert.Equal([Reasons.Quality], decision.Reasons);
    }

    [Fact]
    public void Recommend_ModelLargerThanTheFreeMemory_EscalatesForMemory()
    {
        var scenario = new RoutingScenario { Models = [SmallIndustrial, GatewayMedical], Snapshot = Board(availableMb: 350) };

        var decision = scenario.Decide(Ask("The conveyor motor vibrates", domain: "industrial"));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Equal([Reasons.Memory], decision.Reasons);
    }

    [Fact]
    public void Recommend_ModelAlreadyLoaded_NeedsOnlyItsCacheToFit()
    {
        var scenario = new RoutingScenario { Models = [SmallIndustrial, GatewayMedical], Snapshot = Board(availableMb: 350), Loaded = [SmallIndustrial.Id] };

        var decision = scenario.Decide(Ask("The conveyor motor vibrates", domain: "industrial"));

        Assert.Equal((RouteOutcome.Local, SmallIndustrial.Id), (decision.Outcome, decision.Model));
    }

    [Fact]
    public void Recommend_BoardOverItsThermalLimit_EscalatesForHeat()
    {
        var decision = new RoutingScenario { Snapshot = Board(availableMb: 1200, celsius: 86) }.Decide(Ask("What time is it?"));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Contains(Reasons.Thermal, decision.Reasons);
    }

    [Theory]
    [InlineData(0x50005, false, 100)]
    [InlineData(0, true, 8)]
    public void Recommend_UnderVoltageOrLowBattery_EscalatesForPower(int throttledBits, bool onBattery, int batteryPercent)
    {
        var scenario = new RoutingScenario { Snapshot = Board(availableMb: 1200, throttledBits: throttledBits, onBattery: onBattery, batteryPercent: batteryPercent) };

        var decision = scenario.Decide(Ask("What time is it?"));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Contains(Reasons.Power, decision.Reasons);
    }

    [Fact]
    public void Recommend_OnBatteryAboveTheMinimum_StaysLocal()
    {
        var decision = new RoutingScenario { Snapshot = Board(availableMb: 1200, onBattery: true, batteryPercent: 60) }.Decide(Ask("What time is it?"));

        Assert.Equal(RouteOutcome.Local, decision.Outcome);
    }

    [Fact]
    public void Recommend_DeadlineTheLocalModelCannotMeet_EscalatesForLatency()
    {
        var slowLocal = TinyGeneral with { Rates = new Dictionary<string, ModelRate> { ["pi4"] = new(2, 20) } };
        var scenario = new RoutingScenario { Models = [slowLocal, GatewayMedical, Hosted] };

        var decision = scenario.Decide(Ask("What time is it?", maxTokens: 64, maxLatencyMs: 5000));

        Assert.Equal((RouteOutcome.Escalate, GatewayMedical.Id), (decision.Outcome, decision.Model));
        Assert.Equal([Reasons.Latency], decision.Reasons);
    }

    [Fact]
    public void Recommend_HotBoard_PredictsSlowerAnswers()
    {
        var cool = new RoutingScenario().Decide(Ask("What time is it?"));
        var hot = new RoutingScenario { Snapshot = Board(availableMb: 1200, celsius: 78, throttledBits: 0x2) }.Decide(Ask("What time is it?"));

        Assert.Equal(RouteOutcome.Local, hot.Outcome);
        Assert.Equal(cool.Predicted.LatencyMs!.Value * 2, hot.Predicted.LatencyMs!.Value, 0);
    }

    [Fact]
    public void Recommend_UpstreamOverTheBudget_IsPassedOverForCost()
    {
        var scenario = new RoutingScenario { Upstreams = [Online("cloud", Hosted)] };

        var decision = scenario.Decide(Ask("fever", domain: "medical", maxCost: 0.001));

        // Only the paid tier covers medicine and it costs more than allowed: the best reachable is still it, degraded.
        Assert.Equal((RouteOutcome.Escalate, Hosted.Id, true), (decision.Outcome, decision.Model, decision.Degraded));
        Assert.Contains(Reasons.Cost, decision.Reasons);
        Assert.Contains(Reasons.Domain, decision.Reasons);
    }

    [Fact]
    public void Recommend_PrivacyLocal_NeverLeavesTheNode()
    {
        var decision = new RoutingScenario().Decide(Ask("fever", domain: "medical", privacy: Privacy.Local));

        Assert.Equal((RouteOutcome.Local, TinyGeneral.Id, true), (decision.Outcome, decision.Model, decision.Degraded));
        Assert.Contains(Reasons.Privacy, decision.Reasons);
        Assert.Contains(Reasons.Domain, decision.Reasons);
    }

    [Fact]
    public void Recommend_PrivacyLocalAndNothingRunsHere_IsRejectedForPrivacy()
    {
        var decision = new RoutingScenario { Snapshot = Board(availableMb: 1200, celsius: 90) }.Decide(Ask("fever", domain: "medical", privacy: Privacy.Local));

        Assert.Equal((RouteOutcome.Reject, ErrorCode.RejectedPrivacy), (decision.Outcome, decision.RejectCode));
        Assert.Equal([Reasons.Thermal, Reasons.Privacy], decision.Reasons);
    }

    [Fact]
    public void Recommend_PrivacyFleet_NeverReachesAThirdParty()
    {
        var scenario = new RoutingScenario { Upstreams = [Online("cloud", Hosted)] };

        var decision = scenario.Decide(Ask("fever", domain: "medical", privacy: Privacy.Fleet));

        Assert.Equal((RouteOutcome.Local, true), (decision.Outcome, decision.Degraded));
        Assert.Equal([Reasons.Domain, Reasons.Privacy, Reasons.NoUpstream], decision.Reasons);
    }

    [Fact]
    public void Recommend_ThirdPartyModelServedHere_RefusesFleetAndLocalRequests()
    {
        var scenario = new RoutingScenario { Tier = 2, LocalModels = [Hosted.Id], Upstreams = [] };

        var fleet = scenario.Decide(Ask("fever", domain: "medical", privacy: Privacy.Fleet));
        var local = scenario.Decide(Ask("fever", domain: "medical", privacy: Privacy.Local));
        var any = scenario.Decide(Ask("fever", domain: "medical"));

        Assert.Equal((RouteOutcome.Reject, ErrorCode.RejectedPrivacy), (fleet.Outcome, fleet.RejectCode));
        Assert.Contains(Reasons.Privacy, fleet.Reasons);
        Assert.Equal((RouteOutcome.Reject, ErrorCode.RejectedPrivacy), (local.Outcome, local.RejectCode));
        Assert.Equal((RouteOutcome.Local, Hosted.Id), (any.Outcome, any.Model));
    }

    [Fact]
    public void Recommend_ModelAdvertisedByAnotherTierThanTheCatalogSays_IsJudgedAtTheAdvertisersTier()
    {
        // The catalog lists the medical model at tier 1; here a tier-3 node serves it, and it is the only one.
        var scenario = new RoutingScenario { Upstreams = [new UpstreamAdvertisement("far", 3, Online: true, [GatewayMedical with { Tier = 3 }], 0, 30)] };

        var decision = scenario.Decide(Ask("fever", domain: "medical"));

        Assert.Equal((RouteOutcome.Escalate, GatewayMedical.Id, 3), (decision.Outcome, decision.Model, decision.Tier));
    }

    [Fact]
    public void Recommend_ModelOfAnEndpointCoveringEveryDomain_CoversAnyDomain()
    {
        // As a tier fronting an OpenAI-compatible server advertises its model when no domains are configured.
        var endpoint = new CatalogModel { Id = "llama-70b", Tier = 2, Format = ModelFormats.OpenAi, Endpoint = "http://dc:8000/v1", Domains = new Dictionary<string, double> { [CatalogModel.AnyDomain] = 0.9 } };
        var scenario = new RoutingScenario { Upstreams = [new UpstreamAdvertisement("dc", 2, Online: true, [endpoint], 0, 40)] };

        var decision = scenario.Decide(Ask("How do I calibrate a lathe?", domain: "machining", minQuality: 0.8));

        Assert.Equal((RouteOutcome.Escalate, "llama-70b", 0.9), (decision.Outcome, decision.Model, decision.Predicted.Quality));
    }

    [Fact]
    public void Recommend_QueueFull_EscalatesForTheQueue()
    {
        var decision = new RoutingScenario { QueueDepth = 16, QueueCapacity = 16 }.Decide(Ask("What time is it?"));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Equal([Reasons.Queue], decision.Reasons);
    }

    [Fact]
    public void Recommend_QueueFullAndNoUpstream_IsBusy()
    {
        var decision = new RoutingScenario { QueueDepth = 16, QueueCapacity = 16, Upstreams = [] }.Decide(Ask("What time is it?"));

        Assert.Equal((RouteOutcome.Reject, ErrorCode.Busy), (decision.Outcome, decision.RejectCode));
        Assert.Equal([Reasons.Queue, Reasons.NoUpstream], decision.Reasons);
    }

    [Fact]
    public void Recommend_NoUpstream_AnswersLocallyDegraded()
    {
        var decision = new RoutingScenario { Upstreams = [] }.Decide(Ask("fever", domain: "medical", subdomain: "pediatrics"));

        Assert.Equal((RouteOutcome.Local, TinyGeneral.Id, true), (decision.Outcome, decision.Model, decision.Degraded));
        Assert.Equal([Reasons.Domain, Reasons.NoUpstream], decision.Reasons);
    }

    [Fact]
    public void Recommend_OfflineNodes_AreNoUpstream()
    {
        var scenario = new RoutingScenario
        {
            Upstreams = [new UpstreamAdvertisement("gw", 1, Online: false, [GatewayMedical], 0, null)],
        };

        var decision = scenario.Decide(Ask("fever", domain: "medical"));

        Assert.Equal(RouteOutcome.Local, decision.Outcome);
        Assert.Contains(Reasons.NoUpstream, decision.Reasons);
    }

    [Fact]
    public void Recommend_NoLocalModelAndNoUpstream_IsNoModel()
    {
        var decision = new RoutingScenario { LocalModels = [], Upstreams = [] }.Decide(Ask("hello"));

        Assert.Equal((RouteOutcome.Reject, ErrorCode.NoModel), (decision.Outcome, decision.RejectCode));
        Assert.Equal([Reasons.NoLocalModel, Reasons.NoUpstream], decision.Reasons);
    }

    [Fact]
    public void Recommend_UncataloguedLocalModel_CountsAsGeneral()
    {
        var decision = new RoutingScenario { Models = [], LocalModels = ["my-own-model"], Upstreams = [] }.Decide(Ask("What time is it?"));

        Assert.Equal((RouteOutcome.Local, "my-own-model", false), (decision.Outcome, decision.Model, decision.Degraded));
        Assert.Null(decision.Predicted.LatencyMs);
    }

    [Fact]
    public void Recommend_SameInput_SameDecision()
    {
        var scenario = new RoutingScenario();
        var request = Ask("fever", domain: "medical");

        Assert.Equal(scenario.Decide(request) with { Reasons = [] }, scenario.Decide(request) with { Reasons = [] });
        Assert.Equal(scenario.Decide(request).Reasons, scenario.Decide(request).Reasons);
    }

    [Fact]
    public void Recommend_UpstreamModelOutsideTheCatalog_IsJudgedByItsAdvertisement()
    {
        var advertised = new CatalogModel { Id = "their-model", Tier = 1, Format = ModelFormats.OnnxGenAi, Domains = new Dictionary<string, double> { ["medical"] = 0.8 } };
        var scenario = new RoutingScenario { Models = [TinyGeneral], Upstreams = [Online("gw", advertised)] };

        var decision = scenario.Decide(Ask("fever", domain: "medical", minQuality: 0.7));

        Assert.Equal((RouteOutcome.Escalate, "their-model", 0.8), (decision.Outcome, decision.Model, decision.Predicted.Quality));
    }
}
