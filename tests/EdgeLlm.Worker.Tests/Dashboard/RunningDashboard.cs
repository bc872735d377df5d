using EdgeLlm.Mqtt.Fleet;
using EdgeLlm.Worker.Dashboard;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EdgeLlm.Worker.Tests.Dashboard;

/// <summary>An `edgellm dashboard` host in this process, configured as its command line would configure it.</summary>
internal sealed class RunningDashboard : IAsyncDisposable
{
    private readonly IHost _host;

    private RunningDashboard(IHost host) => _host = host;

    /// <summary>Where the page is served.</summary>
    public Uri Address => _host.Services.GetRequiredService<FleetPageServer>().Address!;

    public FleetState Fleet => _host.Services.GetRequiredService<FleetState>();

    /// <param name="settings">Configuration as "Section:Key=value"; a free loopback port unless Dashboard:Port is given.</param>
    public static async Task<RunningDashboard> StartAsync(params string[] settings)
    {
        string[] args =
        [
            "--Logging:LogLevel:Default=Warning",
            "--Dashboard:Address=127.0.0.1",
            $"--Dashboard:ClientId=page-{Guid.NewGuid():N}",
            .. settings.Any(s => s.StartsWith("Dashboard:Port=", StringComparison.Ordinal)) ? [] : new[] { $"--Dashboard:Port={EdgeLlm.Tests.FreePort.Next()}" },
            .. settings.Select(s => $"--{s}"),
        ];
        var host = NodeHost.BuildDashboard(args, configDirectory: "/nonexistent/edgellm-test-config");
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(limit.Token);
        return new RunningDashboard(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _host.Dispose();
    }
}
