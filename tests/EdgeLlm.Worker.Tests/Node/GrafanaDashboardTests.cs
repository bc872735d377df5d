using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// docs/grafana/edgellm-fleet.json against what a real node serves Prometheus: every series a panel asks for
/// is one the node scrapes as, after it pulled, loaded, answered, refused and unloaded on a board with a
/// temperature, a battery and an under-voltage.
/// </summary>
public sealed partial class GrafanaDashboardTests(MosquittoFixture mosquitto) : IClassFixture<MosquittoFixture>, IDisposable
{
    /// <summary>
    /// Series of what only a fleet with an upper tier does, or a board with a power meter has, by the
    /// instruments they come from (checked below): named by the rule the scrape shows for their likes
    /// (edgellm_replies_total, edgellm_board_temperature_celsius).
    /// </summary>
    private static readonly Dictionary<string, string> NotDoneHere = new(StringComparer.Ordinal)
    {
        ["edgellm_escalations_total"] = "edgellm.escalations",
        ["edgellm_fallbacks_total"] = "edgellm.fallbacks",
        ["edgellm_board_power_watts"] = "edgellm.board.power",
    };

    /// <summary>The labels only those series have, as their instruments tag them (checked below).</summary>
    private static readonly string[] NotDoneHereLabels = ["edgellm_upstream_tier", "edgellm_fallback"];

    private readonly TempDirectory _temp = new();
    private readonly ModelSourceServer _sources = new();
    private readonly FakeBoard _board = FakeBoard.CoolPi4().Throttled("0x50000").Supply("BAT0", "Battery", capacity: 64, status: "Discharging");

    public void Dispose()
    {
        _board.Dispose();
        _sources.Dispose();
        _temp.Dispose();
    }

    /// <summary>Labels Prometheus adds to every series it scrapes, and the histogram buckets' bound.</summary>
    private static readonly string[] ScrapeLabels = ["instance", "job", "le"];

    [MosquittoFact]
    public async Task EveryQuery_AsksForSeriesAndLabelsTheNodeServes()
    {
        int port = FreePort.Next();
        await using var node = await AfterAWorkingDayAsync(port);
        var (scraped, labels) = await ScrapeAsync(port);
        var targets = Targets().ToList();
        // Label names stand in selectors ({name="…"}), groupings (by (…)) and legends ({{name}}); what is left names series.
        var queriedLabels = targets.SelectMany(t => Selector().Matches(t.Expr).SelectMany(m => LabelMatcher().Matches(m.Groups[1].Value).Select(l => l.Groups[1].Value))
            .Concat(Grouping().Matches(t.Expr).SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries)))
            .Concat(Legend().Matches(t.Legend).Select(m => m.Groups[1].Value))).ToHashSet(StringComparer.Ordinal);
        var queried = targets.SelectMany(t => SeriesName().Matches(Grouping().Replace(Selector().Replace(t.Expr, ""), "")).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(queried);
        Assert.All(queriedLabels, label => Assert.True(labels.Contains(label) || ScrapeLabels.Contains(label) || NotDoneHereLabels.Contains(label), $"the label {label} is queried but no series the node serves has it; they have: {string.Join(", ", labels.Order())}"));
        Assert.All(queried, name => Assert.True(scraped.Contains(name) || NotDoneHere.ContainsKey(name), $"{name} is queried but the node does not serve it; it serves: {string.Join(", ", scraped.Order())}"));
        Assert.All(["gen_ai_server_request_duration_seconds_bucket", "gen_ai_server_time_to_first_token_seconds_bucket", "edgellm_board_temperature_celsius", "edgellm_board_under_voltage", "edgellm_board_on_battery", "edgellm_model_pulls_total", "edgellm_model_unloads_total"],
            name => Assert.Contains(name, queried));
    }

    /// <summary>Each panel's query, run by a real Prometheus scraping the node, as Grafana would send it.</summary>
    [PrometheusFact]
    public async Task EveryQuery_RunsInPrometheus_AndFindsTheSeriesOfWhatTheNodeDid()
    {
        int port = FreePort.Next();
        await using var node = await AfterAWorkingDayAsync(port);
        await using var prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{port}");
        await prometheus.WaitForScrapesAsync(5, TimeSpan.FromSeconds(60));

        foreach (var (expr, _) in Targets())
        {
            string query = expr.Replace("$__rate_interval", "30s", StringComparison.Ordinal).Replace("$instance", ".*", StringComparison.Ordinal);
            var (status, error, series) = await prometheus.QueryAsync(query);

            Assert.True(status == "success", $"Prometheus refused {query}: {error}");
            // What this node did not do (escalate, fall back, meter its power) has no series yet; all else has.
            bool done = !NotDoneHere.Keys.Any(name => expr.Contains(name, StringComparison.Ordinal)) && !expr.Contains("edgellm_decision=\"escalated\"", StringComparison.Ordinal);
            Assert.True(!done || series > 0, $"{query} found no series");
        }
    }

    [Fact]
    public void TheSeriesNotDoneHere_ComeFromInstrumentsTheNodeDeclares()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var declared = new List<string>();
        var tags = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meters) =>
            {
                if (instrument.Meter.Name == NodeMetrics.MeterName)
                {
                    declared.Add(instrument.Name);
                    meters.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, measured, _) =>
        {
            foreach (var tag in measured)
            {
                tags.Add(tag.Key);
            }
        });
        listener.Start();
        var metrics = new NodeMetrics(provider.GetRequiredService<IMeterFactory>(), new UnknownBoard());
        metrics.Escalated(tier: 1);
        metrics.FellBack("degraded-local");

        Assert.All(NotDoneHere.Values, instrument => Assert.Contains(instrument, declared));
        // Prometheus writes a tag's dots as underscores, as the scrape shows for edgellm.decision.
        Assert.All(NotDoneHereLabels, label => Assert.Contains(label, tags.Select(t => t.Replace('.', '_'))));
    }

    [Fact]
    public void TheDashboard_IsOneGrafanaImport_OverAPrometheusSourceChosenOnImport()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        var root = json.RootElement;
        var panels = root.GetProperty("panels").EnumerateArray().ToList();

        Assert.Equal("edgellm-fleet", root.GetProperty("uid").GetString());
        Assert.Equal("datasource", root.GetProperty("__inputs")[0].GetProperty("type").GetString());
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.All(panels.Where(p => p.GetProperty("type").GetString() != "row"), p =>
        {
            Assert.Equal("${DS_PROMETHEUS}", p.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(p.GetProperty("targets").EnumerateArray());
        });
        Assert.Contains(root.GetProperty("templating").GetProperty("list").EnumerateArray(), v => v.GetProperty("name").GetString() == "instance");
    }

    private static string DashboardPath => Repository.Combine("docs", "grafana", "edgellm-fleet.json");

    private static IEnumerable<(string Expr, string Legend)> Targets()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(DashboardPath));
        return [.. json.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => (t.GetProperty("expr").GetString()!, t.TryGetProperty("legendFormat", out var legend) ? legend.GetString() ?? "" : ""))];
    }

    // A node that pulls its model, answers, refuses a malformed request and unloads the model on command.
    private async Task<RunningNode> AfterAWorkingDayAsync(int port)
    {
        string id = $"grafana-{Guid.NewGuid():N}"[..20];
        var source = StoriesCatalog.Source(_sources.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint)), _sources.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer)));
        string catalog = StoriesCatalog.Write(_temp.Combine("catalog.json"), StoriesCatalog.Model("stories260k-int4", "int4", source));
        var node = await RunningNode.StartAsync(
            $"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto",
            "Mqtt:Commands:TrustBrokerAcl=true", $"Device:SysfsRoot={_board.Root}", $"Telemetry:PrometheusPort={port}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        Assert.Null((await requester.AskAsync($"test/{id}/ask/q", """{"prompt":"Once upon a time","maxTokens":8}""", TimeSpan.FromSeconds(60))).Error);
        Assert.Equal("bad-request", (await requester.AskAsync($"test/{id}/ask/q", """{"prompt":"Lily","maxTokens":-1}""")).Error);
        Assert.Null((await requester.AskAsync($"edgellm/node/{id}/cmd", """{"id":"u","command":"unload","model":"stories260k-int4"}""")).Error);
        return node;
    }

    private static async Task<(HashSet<string> Series, HashSet<string> Labels)> ScrapeAsync(int port)
    {
        using var http = new HttpClient();
        string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var samples = text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        return (
            [.. samples.Select(l => l[..l.IndexOfAny(['{', ' '])])],
            [.. samples.SelectMany(l => LabelMatcher().Matches(l.Contains('{', StringComparison.Ordinal) ? l[l.IndexOf('{', StringComparison.Ordinal)..] : "").Select(m => m.Groups[1].Value))]);
    }

    [GeneratedRegex(@"\b(?:edgellm|gen_ai)_[a-z_]+\b")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*""")]
    private static partial Regex LabelMatcher();

    [GeneratedRegex(@"\b(?:by|without)\s*\(([^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")]
    private static partial Regex Legend();

    private sealed class UnknownBoard : Core.Resources.IResourceSnapshotSource
    {
        public Core.Resources.ResourceSnapshot Latest { get; } = new();
    }
}
