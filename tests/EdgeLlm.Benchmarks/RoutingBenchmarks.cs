using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Device.Sampling;
using EdgeLlm.Device.Sensors;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// What deciding costs a request: reading its envelope, one recommendation over a catalog of 20 models with 3
/// upstream nodes advertising, and one resource snapshot read from this machine's /proc and /sys.
/// </summary>
[Config(typeof(Config))]
public class RoutingBenchmarks
{
    private readonly ReadOnlySequence<byte> _envelope = new("""
        { "id": "bay3-0042", "prompt": "My child has had a fever of 39 for two days; what paracetamol dose?", "domain": "medical",
          "maxTokens": 128, "temperature": 0.7, "maxLatencyMs": 5000, "minQuality": 0.6, "privacy": "fleet" }
        """u8.ToArray());

    private RoutingInput _input = null!;
    private ResourceSampler _sampler = null!;

    public static int Run() => BenchmarkRunner.Run<RoutingBenchmarks>().HasCriticalValidationErrors ? 1 : 0;

    [GlobalSetup]
    public void Setup()
    {
        string[] domains = ["general", "medical", "industrial", "stories", "legal"];
        var models = new List<CatalogModel>();
        for (int i = 0; i < 20; i++)
        {
            int tier = i < 12 ? 0 : i < 17 ? 1 : 2;
            models.Add(new CatalogModel
            {
                Id = $"model-{i}",
                Tier = tier,
                Format = tier == 0 ? ModelFormats.OnnxGenAi : ModelFormats.OpenAi,
                Parameters = 1_000_000L * (i + 1),
                Bytes = 500_000L * (i + 1),
                RamBytes = (40L << 20) * (i % 4 + 1),
                KvBytesPerToken = 4096,
                ContextLength = 4096,
                Domains = domains.Where((_, d) => (i + d) % 3 != 0).ToDictionary(d => d, d => 0.3 + 0.03 * i),
                Subdomains = new Dictionary<string, double> { ["pediatrics"] = 0.4 + 0.02 * i },
                Rates = new Dictionary<string, ModelRate> { ["pi4"] = new(400.0 / (i + 1), 4000.0 / (i + 1)) },
                CostPer1kTokens = tier == 2 ? 0.0006 : 0,
                ThirdParty = tier == 2,
            });
        }

        var keywords = new Dictionary<string, IReadOnlyList<string>> { ["medical"] = ["fever", "dose", "child"], ["industrial"] = ["motor", "conveyor"] };
        UpstreamAdvertisement Advertise(string node, int tier) => new(node, tier, true, [.. models.Where(m => m.Tier == tier)], 2, 15);
        _input = new RoutingInput(
            new Request { Prompt = "My child has had a fever of 39 for two days; what paracetamol dose?", MaxTokens = 128, MinQuality = 0.6, MaxLatencyMs = 5000, Privacy = Privacy.Fleet },
            new ResourceSnapshot
            {
                Board = "Raspberry Pi 4 Model B Rev 1.4",
                Memory = new MemoryState(2L << 30, 900L << 20),
                Thermal = new ThermalState { Zones = [new ThermalZone("thermal_zone0", "cpu-thermal", 72)], Throttling = ThrottlingState.FromBits(0) },
            },
            new ModelCatalog(models, keywords),
            new NodeRouting(0, "pi4", 128L << 20, 80, 10, 128),
            LocalModels: null,
            LoadedModels: ["model-3"],
            QueueDepth: 2,
            QueueCapacity: 16,
            [Advertise("gw-1", 1), Advertise("gw-2", 1), Advertise("cloud", 2)]);

        var sysFs = new RootedSysFs("/");
        _sampler = new ResourceSampler(sysFs, new SysFsCpuTemperature(sysFs), new NoPowerMeter(), TimeProvider.System);
    }

    [Benchmark]
    public ParsedRequest ReadEnvelope() => RequestParser.Parse(_envelope, 8192);

    [Benchmark]
    public Decision Decide() => Recommender.Recommend(_input);

    [Benchmark]
    public ResourceSnapshot ReadSnapshot() => _sampler.Sample();

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
            AddColumnProvider(DefaultColumnProviders.Instance);
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, new P99Column());
            AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        }
    }

    /// <summary>The 99th percentile of the measured iterations (BenchmarkDotNet ships P95 and P100 columns, not P99).</summary>
    private sealed class P99Column : IColumn
    {
        public string Id => "P99";

        public string ColumnName => "P99";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Statistics;

        public int PriorityInCategory => 10;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Time;

        public string Legend => "Percentile 99: 99% of the iterations took at most this long (per operation)";

        public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var statistics = summary[benchmarkCase]?.ResultStatistics;
            return statistics is null ? "NA" : $"{statistics.Percentiles.Percentile(99) / 1000:F3} μs";
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;
    }
}
