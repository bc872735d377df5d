using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Telemetry;

/// <summary>Configuration section "Telemetry": where the node's metrics go (docs/telemetry.md); nowhere by default.</summary>
internal sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Serves /metrics for Prometheus on this port, on every interface; 0 serves none.</summary>
    [Between(0, 65535)]
    public int PrometheusPort { get; set; }

    /// <summary>An OpenTelemetry collector to export OTLP to (e.g. http://collector:4318); empty exports none.</summary>
    [HttpAddress]
    public string OtlpEndpoint { get; set; } = "";
}

[OptionsValidator]
internal sealed partial class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<TelemetryOptions> Keyed { get; } = new KeyedValidator<TelemetryOptions>(TelemetryOptions.Section, new TelemetryOptionsValidator());
}
