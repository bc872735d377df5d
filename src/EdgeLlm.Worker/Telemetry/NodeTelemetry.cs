using EdgeLlm.Core.Options;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EdgeLlm.Worker.Telemetry;

/// <summary>
/// The node's metrics (<see cref="NodeMetrics"/>) and spans (<see cref="NodeTracing"/>, with the
/// OpenAI-compatible engine's calls) exported with OpenTelemetry, as Telemetry:* says: metrics to a Prometheus
/// /metrics endpoint (OpenTelemetry's HttpListener exporter) and both to a collector over OTLP, or neither
/// (then no OpenTelemetry runs at all).
/// </summary>
internal static class NodeTelemetry
{
    /// <summary>The ActivitySource of the OpenAI-compatible engine's calls (Microsoft.Extensions.AI's GenAI client spans).</summary>
    public const string EndpointSourceName = "EdgeLlm.OpenAi";

    public static IServiceCollection AddNodeTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(TelemetryOptions.Section);
        services.AddOptions<TelemetryOptions>().Bind(section).ValidatedBy(TelemetryOptionsValidator.Keyed);
        services.AddMetrics();
        var telemetry = section.Get<TelemetryOptions>() ?? new TelemetryOptions();
        // A value out of bounds exports nothing here; the validator stops the start and names the key.
        bool prometheus = telemetry.PrometheusPort is > 0 and <= 65535;
        bool otlp = Uri.TryCreate(telemetry.OtlpEndpoint, UriKind.Absolute, out var collector) && collector.Scheme is "http" or "https";
        if (!prometheus && !otlp)
        {
            return services;
        }

        var builder = services.AddOpenTelemetry();
        if (otlp)
        {
            builder.WithTracing(tracing => tracing
                .AddSource(NodeTracing.SourceName, EndpointSourceName)
                .AddOtlpExporter(exporter =>
                {
                    exporter.Endpoint = new Uri(collector!, "v1/traces");
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                }));
        }

        builder.WithMetrics(metrics =>
        {
            metrics.AddMeter(NodeMetrics.MeterName);
            if (prometheus)
            {
                // Every interface, whatever name the request comes by: the fleet's Prometheus scrapes from
                // elsewhere. The exporter's Host must parse as a URI's, so the wildcard prefix replaces its own.
                metrics.AddPrometheusHttpListener(listener =>
                {
                    listener.Port = telemetry.PrometheusPort;
                    listener.ConfigureHttpListener = (_, http) =>
                    {
                        http.Prefixes.Clear();
                        http.Prefixes.Add($"http://+:{telemetry.PrometheusPort}/");
                    };
                });
            }

            if (otlp)
            {
                metrics.AddOtlpExporter(exporter =>
                {
                    exporter.Endpoint = new Uri(collector!, "v1/metrics");
                    exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                });
            }
        });
        return services;
    }
}
