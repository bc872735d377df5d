using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Xunit;

namespace EdgeLlm.Tests;

/// <summary>Debian's Prometheus on a free loopback port, scraping one target every second, and its query API.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Executable = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly TempDirectory _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, TempDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public static bool Available => File.Exists(Executable);

    /// <param name="target">host:port of the /metrics to scrape.</param>
    public static async Task<PrometheusServer> StartAsync(string target)
    {
        var directory = new TempDirectory();
        string config = directory.Combine("prometheus.yml");
        await File.WriteAllTextAsync(config, $"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: edgellm\n    static_configs:\n      - targets: ['{target}']\n");
        int port = FreePort.Next();
        var process = ServerProcess.Start(Executable, [$"--config.file={config}", $"--storage.tsdb.path={directory.Combine("data")}", $"--web.listen-address=127.0.0.1:{port}"]);
        var server = new PrometheusServer(process, directory, port);
        try
        {
            await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(30));
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    // Listening comes before ready: until its storage is open Prometheus answers 503 "Service Unavailable".
    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await _http.GetAsync("-/ready");
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            Assert.True(clock.Elapsed < timeout, $"Prometheus was not ready within {timeout.TotalSeconds:F0} s: {(int)response.StatusCode}");
            await Task.Delay(100);
        }
    }

    /// <summary>An instant query: its status ("success" or "error"), its error, and its result's series.</summary>
    public async Task<(string Status, string? Error, int Series)> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        string status = root.GetProperty("status").GetString()!;
        return status == "success"
            ? (status, null, root.GetProperty("data").GetProperty("result").GetArrayLength())
            : (status, root.GetProperty("error").GetString(), 0);
    }

    /// <summary>Waits until the target has been scraped at least <paramref name="scrapes"/> times.</summary>
    public async Task WaitForScrapesAsync(int scrapes, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while ((await QueryAsync(string.Create(CultureInfo.InvariantCulture, $"count_over_time(up[1h]) >= {scrapes}"))).Series == 0)
        {
            Assert.True(clock.Elapsed < timeout, $"Prometheus did not scrape its target {scrapes} times within {timeout.TotalSeconds:F0} s");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await ServerProcess.StopAsync(_process);
        _directory.Dispose();
    }
}

/// <summary>A fact that needs Mosquitto and Prometheus; skipped with the reason when either is missing.</summary>
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        Skip = !MosquittoBroker.Available ? MosquittoBroker.SkipReason : !PrometheusServer.Available ? "prometheus is not installed: tests/run.sh installs it" : null;
    }
}
