using EdgeLlm.Core;
using EdgeLlm.Core.Hosting;
using EdgeLlm.Core.Options;
using EdgeLlm.Device;
using EdgeLlm.Mqtt;
using EdgeLlm.Onnx;
using EdgeLlm.Worker.Engines.OpenAiCompatible;
using EdgeLlm.Worker.Dashboard;
using EdgeLlm.Worker.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Worker.Hosting;

/// <summary>The hosts of `edgellm serve` (the node's services in data-flow order) and `edgellm dashboard`: configuration, logging, systemd integration.</summary>
internal static class NodeHost
{
    /// <param name="args">Configuration from the command line, e.g. --Mqtt:Server=broker:1883.</param>
    /// <param name="configDirectory">Where the fleet's *.json configuration lives (read in name order).</param>
    /// <param name="replace">Services that stand in for hardware this machine lacks (tests: a simulated GPIO chip).</param>
    public static IHost Build(IReadOnlyList<string> args, string configDirectory, Action<IServiceCollection>? replace = null)
    {
        var builder = CreateBuilder(args, configDirectory);
        int grace = builder.Configuration.GetValue($"{AdmissionOptions.Section}:{nameof(AdmissionOptions.ShutdownGraceSeconds)}", new AdmissionOptions().ShutdownGraceSeconds);
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(Math.Clamp(grace, 0, 600) + 15));

        // The node's services start stage by stage (NodeStage: the board's state, the models, MQTT, the
        // pipeline, the buttons and lights) and stop in the reverse order, whatever the order of these calls.
        builder.Services.AddEdgeDevice(builder.Configuration);
        // The node's model: an OpenAI-compatible endpoint when one is configured, else the local engine and its store.
        if (OpenAiEngine.IsConfigured(builder.Configuration))
        {
            builder.Services.AddOpenAiEngine(builder.Configuration);
        }
        else
        {
            builder.Services.AddEdgeOnnx(builder.Configuration);
        }

        builder.Services
            .AddEdgeMqtt(builder.Configuration)
            .AddEdgeCore(builder.Configuration)
            .AddEdgeGpio(builder.Configuration)
            .AddNodeTelemetry(builder.Configuration);
        if (FleetPage.IsConfigured(builder.Configuration))
        {
            builder.Services.AddFleetPage(builder.Configuration);
        }

        replace?.Invoke(builder.Services);

        builder.Services.PostConfigure<ModelsOptions>(options => options.CatalogPath = NodeConfiguration.CatalogPath(options.CatalogPath, configDirectory));
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            builder.Services.AddNodeService<SystemdWatchdog>(NodeStage.Supervision);
        }

        return builder.Build();
    }

    /// <summary>
    /// The `edgellm dashboard` host: the fleet page alone, over a connection of its own (Dashboard:ClientId)
    /// to the broker Mqtt: names; Dashboard:Port 8080 unless configured.
    /// </summary>
    public static IHost BuildDashboard(IReadOnlyList<string> args, string configDirectory)
    {
        var builder = CreateBuilder(args, configDirectory);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = [new($"{DashboardOptions.Section}:{nameof(DashboardOptions.Port)}", "8080")] });
        string clientId = builder.Configuration.GetValue($"{DashboardOptions.Section}:{nameof(DashboardOptions.ClientId)}", new DashboardOptions().ClientId)!;
        builder.Services.AddFleetWatcher(builder.Configuration, clientId).AddFleetPage(builder.Configuration);
        return builder.Build();
    }

    // Configuration, logging and systemd integration, the same for the node and the dashboard.
    private static HostApplicationBuilder CreateBuilder(IReadOnlyList<string> args, string configDirectory)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, ApplicationName = "edgellm" });
        NodeConfiguration.AddSources(builder.Configuration, args, configDirectory);

        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        // systemd sets JOURNAL_STREAM when stdout goes to the journal: one line per entry with its syslog
        // priority (<3> error, <4> warning, …) and no timestamp of ours. AddSystemd below decides the same
        // from its parent's /proc/PPID/comm, which the unit's ProtectProc=invisible hides from the service.
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")))
        {
            builder.Logging.AddSystemdConsole();
        }
        else
        {
            builder.Logging.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        // Under systemd: journald-style log lines, READY=1 once every service has started (the front door
        // returns only once subscribed), STOPPING=1 on the way down. NOTIFY_SOCKET alone also turns the
        // notifications on, for a node started through a wrapper script rather than by systemd itself.
        builder.Services.AddSystemd();
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")) && !SystemdHelpers.IsSystemdService())
        {
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }

        return builder;
    }
}
