using System.Globalization;
using System.Text;
using EdgeLlm.Tests;
using MQTTnet;

namespace EdgeLlm.Benchmarks;

/// <summary>
/// What the published linux-x64 node costs a board (issue 7): edgellm published with publish-profiles/linux-x64
/// (self-contained, trimmed) and linux-x64-aot (NativeAOT), beside the framework-dependent build, side by side
/// in one run, starts interleaved: the folder's size, time from process start to READY=1 (sd_notify) and idle
/// RSS (VmRSS, after READY and some seconds of idling) and the CPU it used while idling, with no model and
/// with stories260K int8 loaded; and the NativeAOT node again with its metrics exported to Prometheus and
/// scraped every second, and with the fleet page served and read by a browser-like client (its assets, the
/// fleet, and the live event stream held open while it idles): what telemetry and the page cost.
/// </summary>
internal static class FootprintBenchmark
{
    private const string AnswerTopic = "bench/footprint/answer";
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    /// <param name="MetricsPort">The Telemetry:PrometheusPort it serves /metrics on (scraped every second while it idles); null for none.</param>
    /// <param name="PagePort">The Dashboard:Port of its fleet page (read while it idles); null for none.</param>
    private sealed record Variant(string Name, string Executable, int? MetricsPort = null, int? PagePort = null)
    {
        public List<double> ReadyMs { get; } = [];

        public List<double> RssMb { get; } = [];

        public List<double> IdleCpuMsPerSecond { get; } = [];

        public List<double> ReadyWithModelMs { get; } = [];

        public List<double> RssWithModelMb { get; } = [];
    }

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        int starts = arguments.Int("--starts", 5);
        using var temp = new TempDirectory();
        string model = BenchmarkNode.BuildStories(temp);
        Console.WriteLine($"EdgeLlm footprint benchmark: {Environment.ProcessorCount} cores, {LocalTierBenchmark.CpuModel()}, {starts} starts of each");
        Console.WriteLine("publishing linux-x64 and linux-x64-aot (some minutes)…");
        string aot = Path.Combine(await PublishedEdgeLlm.PublishAsync("linux-x64-aot", temp), "edgellm");
        Variant[] variants =
        [
            new("build (framework-dependent, JIT)", BenchmarkNode.BuiltExecutable),
            new("linux-x64 (self-contained, trimmed)", Path.Combine(await PublishedEdgeLlm.PublishAsync("linux-x64", temp), "edgellm")),
            new("linux-x64-aot (NativeAOT)", aot),
            new("linux-x64-aot, metrics to Prometheus", aot, MetricsPort: FreePort.Next()),
            new("linux-x64-aot, fleet page read live", aot, PagePort: FreePort.Next()),
        ];
        using var scraper = new HttpClient();
        await using var broker = await MosquittoBroker.StartAsync();
        using var requester = await BenchmarkRequester.ConnectAsync(broker, AnswerTopic);

        for (int start = 0; start < starts; start++)
        {
            foreach (var variant in variants)
            {
                await using (var node = await StartAsync(variant, broker, temp))
                {
                    variant.ReadyMs.Add(node.ReadyMs);
                    double cpu = node.CpuSeconds();
                    await IdleAsync(scraper, variant);
                    variant.IdleCpuMsPerSecond.Add((node.CpuSeconds() - cpu) * 1000 / Idle.TotalSeconds);
                    variant.RssMb.Add(node.RssMb());
                }

                await using (var node = await StartAsync(variant, broker, temp, $"Models:Local={model}"))
                {
                    variant.ReadyWithModelMs.Add(node.ReadyMs);
                    // The model loads beside the start: one 1-token answer says it is in, then the node idles.
                    await BenchmarkRequester.TimeAsync(requester, "edgellm/ask/bench", Encoding.UTF8.GetBytes($$"""{"id": "f{{start}}", "prompt": "Once", "maxTokens": 1}"""), AnswerTopic, $"\"f{start}\"");
                    await IdleAsync(scraper, variant);
                    variant.RssWithModelMb.Add(node.RssMb());
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| edgellm | folder (MB) | edgellm file (MB) | start to READY=1, no model (ms) | idle RSS, no model (MB) | idle CPU, no model (ms/s) | start to READY=1, stories260K int8 (ms) | idle RSS, stories260K int8 loaded (MB) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var variant in variants)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variant.Name} | {FolderMb(variant.Executable):F1} | {new FileInfo(variant.Executable).Length / 1048576.0:F1} | {Statistics.Median(variant.ReadyMs):F0} | {Statistics.Median(variant.RssMb):F1} | {Statistics.Median(variant.IdleCpuMsPerSecond):F1} | {Statistics.Median(variant.ReadyWithModelMs):F0} | {Statistics.Median(variant.RssWithModelMb):F1} |"));
        }

        Console.WriteLine();
        Console.WriteLine($"medians of {starts} starts each; the build's folder is its bin/ (the shared .NET runtime not counted)");
        return 0;
    }

    private static Task<BenchmarkNode> StartAsync(Variant variant, MosquittoBroker broker, TempDirectory temp, params string[] settings) =>
        BenchmarkNode.StartAsync(variant.Executable, broker, temp,
        [
            "Node:Id=bench", "Models:OnDemand=off", .. settings,
            .. variant.MetricsPort is int metrics ? [$"Telemetry:PrometheusPort={metrics}"] : Array.Empty<string>(),
            .. variant.PagePort is int page ? [$"Dashboard:Port={page}", "Dashboard:Address=127.0.0.1"] : Array.Empty<string>(),
        ]);

    // The idle seconds, as a fleet watches the node: /metrics scraped every second (a Prometheus set tight),
    // or the page loaded once and its event stream read until the end.
    private static async Task IdleAsync(HttpClient client, Variant variant)
    {
        if (variant.PagePort is int page)
        {
            var site = new Uri($"http://127.0.0.1:{page}/");
            foreach (string asset in new[] { "", "fleet.js", "fleet.css", "api/fleet" })
            {
                await client.GetStringAsync(new Uri(site, asset));
            }

            using var idle = new CancellationTokenSource(Idle);
            try
            {
                using var events = await client.GetStreamAsync(new Uri(site, "api/events"), idle.Token);
                await events.CopyToAsync(Stream.Null, idle.Token);
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
            }

            return;
        }

        for (var idle = System.Diagnostics.Stopwatch.StartNew(); idle.Elapsed < Idle;)
        {
            if (variant.MetricsPort is int port)
            {
                await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static double FolderMb(string executable) =>
        new DirectoryInfo(Path.GetDirectoryName(executable)!).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) / 1048576.0;
}
