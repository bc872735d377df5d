using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using static EdgeLlm.Core.Tests.Routing.RoutingScenario;

namespace EdgeLlm.Core.Tests.Routing;

/// <summary>The recommender with catalog models not on the board yet (docs/design.md §6, "on demand").</summary>
public sealed class AcquisitionTests
{
    // A node with no local model yet; the tiny model can be pulled in 800 ms; the gateway covers everything.
    private static readonly RoutingScenario FreshNode = new() { LocalModels = [], Acquirable = new Dictionary<string, double> { [TinyGeneral.Id] = 800 } };

    [Fact]
    public void Recommend_TheDeadlineAllowsThePull_WaitsForTheModel()
    {
        var decision = FreshNode.Decide(Ask("Tell me a story", domain: "stories", maxLatencyMs: 5000));

        Assert.Equal((RouteOutcome.Local, TinyGeneral.Id, TinyGeneral.Id), (decision.Outcome, decision.Model, decision.Acquire));
        Assert.Equal([Reasons.FitsLocal, Reasons.Acquire], decision.Reasons);
        Assert.True(decision.Predicted.LatencyMs > 800);
    }

    [Fact]
    public void Recommend_TheDeadlineIsTooShortForThePull_EscalatesNowAndPullsInTheBackground()
    {
        var decision = FreshNode.Decide(Ask("Tell me a story", domain: "stories", maxLatencyMs: 600));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Equal(TinyGeneral.Id, decision.Acquire);
        Assert.Contains(Reasons.Latency, decision.Reasons);
    }

    [Fact]
    public void Recommend_BackgroundPolicy_NeverWaitsWhileAnUpstreamCanAnswer()
    {
        var decision = (FreshNode with { OnDemand = OnDemandPolicies.Background }).Decide(Ask("Tell me a story", domain: "stories", maxLatencyMs: 60_000));

        Assert.Equal((RouteOutcome.Escalate, TinyGeneral.Id), (decision.Outcome, decision.Acquire));
    }

    [Fact]
    public void Recommend_BackgroundPolicyWithNoUpstream_WaitsRatherThanRefuse()
    {
        var decision = (FreshNode with { OnDemand = OnDemandPolicies.Background, Upstreams = [] }).Decide(Ask("Tell me a story", domain: "stories"));

        Assert.Equal((RouteOutcome.Local, TinyGeneral.Id, TinyGeneral.Id), (decision.Outcome, decision.Model, decision.Acquire));
        Assert.True(decision.Degraded);
    }

    [Fact]
    public void Recommend_OffPolicy_NeitherWaitsNorPulls()
    {
        var decision = (FreshNode with { OnDemand = OnDemandPolicies.Off, Upstreams = [] }).Decide(Ask("Tell me a story", domain: "stories"));

        Assert.Equal((RouteOutcome.Reject, ErrorCode.NoModel), (decision.Outcome, decision.RejectCode));
        Assert.Null(decision.Acquire);
        Assert.Contains(Reasons.NoLocalModel, decision.Reasons);
    }

    [Fact]
    public void Recommend_AnAdequateModelOnTheBoard_BeatsASmallerOneToPull()
    {
        var scenario = new RoutingScenario { Models = [TinyGeneralInt8, TinyGeneral, GatewayMedical], LocalModels = [TinyGeneralInt8.Id], Acquirable = new Dictionary<string, double> { [TinyGeneral.Id] = 10 } };

        var decision = scenario.Decide(Ask("Tell me a story", domain: "stories"));

        Assert.Equal((RouteOutcome.Local, TinyGeneralInt8.Id), (decision.Outcome, decision.Model));
        Assert.Null(decision.Acquire);
    }

    [Fact]
    public void Recommend_NothingMeetsTheRequestAndNoUpstream_AModelOnTheBoardAnswersDegraded_NotOneToPull()
    {
        // Neither meets it: the board's model lacks the domain and is slow, the one to pull would miss the deadline.
        var scenario = new RoutingScenario { Models = [SmallIndustrial, TinyGeneral], LocalModels = [SmallIndustrial.Id], Acquirable = new Dictionary<string, double> { [TinyGeneral.Id] = 800 }, Upstreams = [] };

        var decision = scenario.Decide(Ask("Tell me a story", domain: "stories", maxLatencyMs: 600));

        Assert.Equal((RouteOutcome.Local, SmallIndustrial.Id), (decision.Outcome, decision.Model));
        Assert.Null(decision.Acquire);
        Assert.True(decision.Degraded);
        Assert.Equal([Reasons.Domain, Reasons.Latency, Reasons.NoUpstream], decision.Reasons);
    }

    [Fact]
    public void Recommend_WithoutModelsToPull_OnlyWhatIsOnTheBoardIsWeighed()
    {
        var scenario = new RoutingScenario { Models = [SmallIndustrial, TinyGeneral], LocalModels = [SmallIndustrial.Id], Acquirable = null, Upstreams = [] };

        var decision = scenario.Decide(Ask("Tell me a story", domain: "stories"));

        Assert.Equal((RouteOutcome.Local, SmallIndustrial.Id, null), (decision.Outcome, decision.Model, decision.Acquire));
    }

    [Fact]
    public void Recommend_AModelToPullThatWouldNotServe_IsNotPulled()
    {
        var decision = FreshNode.Decide(Ask("The child has a fever, what dose?", domain: "medical"));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Null(decision.Acquire);
    }

    [Fact]
    public void Recommend_AModelToPullThatMemoryCannotHold_IsNeitherAwaitedNorPulled()
    {
        var decision = (FreshNode with { Snapshot = Board(availableMb: 150) }).Decide(Ask("Tell me a story", domain: "stories", maxLatencyMs: 60_000));

        Assert.Equal(RouteOutcome.Escalate, decision.Outcome);
        Assert.Null(decision.Acquire);
        Assert.Contains(Reasons.Memory, decision.Reasons);
    }
}
