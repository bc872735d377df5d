using System.Text;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Core.Routing;

/// <summary>
/// docs/design.md §7 as a pure function: the same input gives the same decision. It weighs the local models of the
/// node's tier and the models of advertised, online upper tiers against the request's needs and the board's
/// state, picks the cheapest candidate meeting every requirement (the lowest tier on a tie: the smallest
/// adequate model), and otherwise falls back as §7 says: privacy local keeps the best local model (or
/// rejects), anything else goes to the best reachable upstream, and with no upstream the best local model
/// answers, marked degraded.
/// </summary>
public static class Recommender
{
    // What stops a local model from running at all, rather than from answering well.
    private static readonly HashSet<string> BoardLimits = [Reasons.Memory, Reasons.Queue, Reasons.Thermal, Reasons.Power, Reasons.Privacy];

    // A candidate and the requirements it misses (reason codes); no misses means it meets them all. A local
    // model not on the board yet has the time to obtain it in AcquireMs (and in its latency).
    private sealed record Candidate(CatalogModel Model, bool IsLocal, double? LatencyMs, double? Quality, double Cost, IReadOnlyList<string> Misses)
    {
        public double? AcquireMs { get; init; }

        /// <summary>It would meet every requirement were it on the board already.</summary>
        public bool AdequateOncePresent { get; init; }

        public bool MeetsAll => Misses.Count == 0;

        public Prediction Prediction => new(LatencyMs is double ms ? Math.Round(ms, 1) : null, Quality, Math.Round(Cost, 6));
    }

    public static Decision Recommend(RoutingInput input)
    {
        var request = input.Request;
        string domain = request.Domain ?? DomainClassifier.Classify(request.LastUserText, input.Catalog);
        int promptTokens = EstimateTokens(request);
        int maxTokens = request.MaxTokens ?? input.Node.DefaultMaxTokens;

        var (locals, localBlock) = LocalCandidates(input, domain, promptTokens, maxTokens);
        List<Candidate> upstreams = request.Privacy == Privacy.Local ? [] : UpstreamCandidates(input, domain, promptTokens, maxTokens);

        var decision = Choose(input, request, domain, locals, localBlock, upstreams);
        return decision.Outcome == RouteOutcome.Local || input.Node.OnDemand == Options.OnDemandPolicies.Off
            ? decision
            : decision with { Acquire = Best(locals.Where(c => c.AcquireMs is not null && c.AdequateOncePresent))?.Model.Id };
    }

    private static Decision Choose(RoutingInput input, Request request, string domain, List<Candidate> locals, List<string> localBlock, List<Candidate> upstreams)
    {
        // The cheapest candidate meeting everything; on a tie the lowest tier, a model on the board before one
        // to pull, then the smallest (parameters, then bytes: of one model's builds, the most compact), then
        // the fastest.
        var adequate = locals.Concat(upstreams).Where(c => c.MeetsAll)
            .OrderBy(c => c.Cost).ThenBy(c => c.Model.Tier).ThenBy(c => c.AcquireMs is null ? 0 : 1).ThenBy(c => c.Model.Parameters).ThenBy(c => c.Model.Bytes).ThenBy(c => c.LatencyMs ?? double.MaxValue).ThenBy(c => c.Model.Id, StringComparer.Ordinal)
            .FirstOrDefault();
        if (adequate is not null)
        {
            return adequate.IsLocal
                ? Decide(RouteOutcome.Local, domain, adequate, adequate.AcquireMs is null ? [Reasons.FitsLocal] : [Reasons.FitsLocal, Reasons.Acquire], degraded: false)
                : Decide(RouteOutcome.Escalate, domain, adequate, WhyNotLocal(locals, localBlock), degraded: false);
        }

        // A local model may answer short of requirements, but never past the board's own limits; one on the
        // board before one that must be pulled first, which only a node with nothing runnable waits for.
        var runnable = locals.Where(c => !c.Misses.Any(BoardLimits.Contains)).ToList();
        var runnableLocal = Best(runnable.Where(c => c.AcquireMs is null)) ?? Best(runnable);
        var whyNotLocal = WhyNotLocal(locals, localBlock);
        if (request.Privacy == Privacy.Local)
        {
            return runnableLocal is not null
                ? Decide(RouteOutcome.Local, domain, runnableLocal, [.. runnableLocal.Misses, Reasons.Privacy], degraded: true)
                : Reject(domain, [.. whyNotLocal, Reasons.Privacy], ErrorCode.RejectedPrivacy);
        }

        var reachableUpstream = Best(upstreams);
        if (reachableUpstream is not null)
        {
            return Decide(RouteOutcome.Escalate, domain, reachableUpstream, [.. whyNotLocal.Union(reachableUpstream.Misses)], degraded: !reachableUpstream.MeetsAll);
        }

        string[] noUpstream = [.. NoUpstreamReasons(input), Reasons.NoUpstream];
        if (runnableLocal is not null)
        {
            return Decide(RouteOutcome.Local, domain, runnableLocal, [.. runnableLocal.Misses, .. noUpstream], degraded: true);
        }

        // Nothing can run here and nothing is reachable: busy when it may pass (heat, power, a full queue).
        var reasons = whyNotLocal.Concat(noUpstream).Distinct().ToArray();
        var code = reasons.Contains(Reasons.Privacy) ? ErrorCode.RejectedPrivacy
            : reasons.Any(r => r is Reasons.Thermal or Reasons.Power or Reasons.Queue) ? ErrorCode.Busy
            : ErrorCode.NoModel;
        return Reject(domain, reasons, code);
    }

    /// <summary>Prompt tokens, estimated from UTF-8 bytes (about four a token for the tokenizers in use).</summary>
    public static int EstimateTokens(Request request) =>
        1 + (request.ContentBytes + 3) / 4;

    /// <summary>How much slower the board runs now: 1 when cool; less when hot, capped or throttled.</summary>
    public static double Derating(ResourceSnapshot snapshot)
    {
        double factor = 1;
        if (snapshot.Thermal.Throttling is { } throttling)
        {
            if (throttling.ThrottledNow || throttling.FrequencyCappedNow)
            {
                factor = 0.5;
            }
            else if (throttling.SoftTemperatureLimitNow)
            {
                factor = 0.75;
            }
        }

        // Past 70 °C boards start to slow down; by 85 °C they run at about 60%.
        if (snapshot.HottestCelsius is double celsius && celsius > 70)
        {
            factor = Math.Min(factor, Math.Max(0.6, 1 - (celsius - 70) / 15 * 0.4));
        }

        return factor;
    }

    private static (List<Candidate> Candidates, List<string> Block) LocalCandidates(RoutingInput input, string domain, int promptTokens, int maxTokens)
    {
        var block = new List<string>();
        var snapshot = input.Snapshot;
        if (snapshot.HottestCelsius >= input.Node.ThermalLimitCelsius)
        {
            block.Add(Reasons.Thermal);
        }

        if (snapshot.Thermal.Throttling?.UnderVoltageNow == true || (snapshot.Power.OnBattery == true && snapshot.Power.BatteryPercent < input.Node.MinBatteryPercent))
        {
            block.Add(Reasons.Power);
        }

        // The models served here, whatever tier the catalog files them under (a model served here runs here);
        // one missing from the catalog counts as a general model of unknown size and speed. Without a list of
        // served models, every catalog model of this tier counts.
        var models = input.LocalModels is null
            ? input.Catalog.Models.Where(m => m.Tier == input.Node.Tier && m.Format != ModelFormats.OpenAi).ToList()
            : input.LocalModels.Select(id => (input.Catalog.Find(id) ?? CatalogModel.Uncatalogued(id, input.Node.Tier)) with { Tier = input.Node.Tier }).ToList();
        var acquirable = input.Node.OnDemand == Options.OnDemandPolicies.Off || input.Acquirable is null
            ? []
            : input.Acquirable.Where(a => models.All(m => m.Id != a.Key) && input.Catalog.Find(a.Key) is not null)
                .Select(a => (Model: input.Catalog.Find(a.Key)! with { Tier = input.Node.Tier }, Ms: a.Value)).ToList();

        if (models.Count == 0 && acquirable.Count == 0)
        {
            block.Add(Reasons.NoLocalModel);
        }

        double derating = Derating(snapshot);
        long? usable = snapshot.UsableMemoryBytes - input.Node.MemoryReserveBytes;
        var candidates = new List<Candidate>();
        foreach (var (model, acquireMs) in models.Select(m => (m, (double?)null)).Concat(acquirable.Select(a => (a.Model, (double?)a.Ms))))
        {
            var misses = new List<string>(block);
            double? quality = model.QualityFor(domain, input.Request.Subdomain);
            long need = (input.LoadedModels.Contains(model.Id) ? 0 : model.RamBytes) + model.KvBytesPerToken * (promptTokens + maxTokens);
            if (usable is long free && need > free)
            {
                misses.Add(Reasons.Memory);
            }

            if (input.QueueDepth >= input.QueueCapacity)
            {
                misses.Add(Reasons.Queue);
            }

            // A node fronting a third-party endpoint passes on nothing its requester kept within the fleet.
            if (model.ThirdParty && input.Request.Privacy != Privacy.Any)
            {
                misses.Add(Reasons.Privacy);
            }

            double? latency = model.RateOn(input.Node.BoardClass) is ModelRate rate
                ? QueueWait(input.QueueDepth, input.Node.DefaultMaxTokens, rate, derating) + Compute(promptTokens, maxTokens, rate, derating)
                : null;
            if (acquireMs is not double ms)
            {
                candidates.Add(Judge(model, isLocal: true, domain, quality, latency, cost: 0, input.Request, misses));
                continue;
            }

            // Under the background policy a request never waits for a pull: the model only counts as one
            // that would serve once here.
            var oncePresent = Judge(model, isLocal: true, domain, quality, latency, cost: 0, input.Request, [.. misses]);
            if (input.Node.OnDemand == Options.OnDemandPolicies.Background)
            {
                misses.Add(Reasons.Acquire);
            }

            candidates.Add(Judge(model, isLocal: true, domain, quality, latency + ms, cost: 0, input.Request, misses) with { AcquireMs = ms, AdequateOncePresent = oncePresent.MeetsAll });
        }

        return (candidates, block);
    }

    private static List<Candidate> UpstreamCandidates(RoutingInput input, string domain, int promptTokens, int maxTokens)
    {
        var candidates = new List<Candidate>();
        var online = input.Upstreams.Where(a => a.Online).ToList();
        // A model is judged at the tier that advertises it, as this node's catalog describes it when it does.
        foreach (var model in online.SelectMany(a => a.Models.Select(m => (input.Catalog.Find(m.Id) ?? m) with { Tier = a.Tier })).DistinctBy(m => (m.Id, m.Tier)))
        {
            if (input.Request.Privacy == Privacy.Fleet && model.ThirdParty)
            {
                continue;
            }

            // The least busy node of that tier serving the model.
            var host = online.Where(a => a.Tier == model.Tier && a.Models.Any(m => m.Id == model.Id)).MinBy(a => a.QueueDepth)!;
            var fastest = model.Rates.Values.MaxBy(r => r.DecodeTokensPerSecond);
            double? latency = fastest is null ? null
                : (host.RoundTripMs ?? 0) + QueueWait(host.QueueDepth, input.Node.DefaultMaxTokens, fastest, 1) + Compute(promptTokens, maxTokens, fastest, 1);
            double cost = model.CostPer1kTokens * (promptTokens + maxTokens) / 1000.0;
            candidates.Add(Judge(model, isLocal: false, domain, model.QualityFor(domain, input.Request.Subdomain), latency, cost, input.Request, []));
        }

        return candidates;
    }

    private static Candidate Judge(CatalogModel model, bool isLocal, string domain, double? quality, double? latency, double cost, Request request, List<string> misses)
    {
        if (quality is null)
        {
            misses.Add(Reasons.Domain);
        }
        else if (quality < (request.MinQuality ?? 0))
        {
            misses.Add(Reasons.Quality);
        }

        if (request.MaxLatencyMs is int deadline && latency > deadline)
        {
            misses.Add(Reasons.Latency);
        }

        if (request.MaxCost is double maxCost && cost > maxCost)
        {
            misses.Add(Reasons.Cost);
        }

        return new Candidate(model, isLocal, latency, quality, cost, misses.Distinct().ToArray());
    }

    private static double Compute(int promptTokens, int maxTokens, ModelRate rate, double derating) =>
        (promptTokens / rate.PrefillTokensPerSecond + maxTokens / rate.DecodeTokensPerSecond) * 1000 / derating;

    // Each request ahead is taken to generate the default number of tokens.
    private static double QueueWait(int queueDepth, int defaultMaxTokens, ModelRate rate, double derating) =>
        queueDepth * defaultMaxTokens / rate.DecodeTokensPerSecond * 1000 / derating;

    // The best of the inadequate: the fewest misses, then the highest quality, then the fastest.
    private static Candidate? Best(IEnumerable<Candidate> candidates) =>
        candidates.OrderBy(c => c.Misses.Count).ThenByDescending(c => c.Quality ?? -1).ThenBy(c => c.LatencyMs ?? double.MaxValue).ThenBy(c => c.Model.Id, StringComparer.Ordinal).FirstOrDefault();

    // Why no local model was adequate: what blocked them all, else what the most promising one missed.
    private static List<string> WhyNotLocal(List<Candidate> locals, List<string> block) =>
        block.Count > 0 || locals.Count == 0 ? block : [.. Best(locals)!.Misses];

    private static IEnumerable<string> NoUpstreamReasons(RoutingInput input) =>
        input.Request.Privacy == Privacy.Fleet && input.Upstreams.Any(a => a.Online && a.Models.All(m => (input.Catalog.Find(m.Id) ?? m).ThirdParty))
            ? [Reasons.Privacy]
            : [];

    // A local model not on the board is pulled first: the decision names it to acquire, and says so.
    private static Decision Decide(RouteOutcome outcome, string domain, Candidate chosen, IEnumerable<string> reasons, bool degraded) =>
        outcome == RouteOutcome.Local && chosen.AcquireMs is not null
            ? new(outcome, domain, chosen.Model.Id, chosen.Model.Tier, [.. reasons.Append(Reasons.Acquire).Distinct()], chosen.Prediction, degraded, Acquire: chosen.Model.Id)
            : new(outcome, domain, chosen.Model.Id, chosen.Model.Tier, [.. reasons.Distinct()], chosen.Prediction, degraded);

    private static Decision Reject(string domain, IEnumerable<string> reasons, ErrorCode code) =>
        new(RouteOutcome.Reject, domain, null, null, [.. reasons.Distinct()], new Prediction(null, null, null), Degraded: false, code);
}
