using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Routing": the limits the recommender holds the board to (docs/design.md §7).</summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>Which measured model rates apply ("pi4", "pi5", "x64", …); empty detects it from the board.</summary>
    public string BoardClass { get; set; } = "";

    /// <summary>At or above this temperature (°C) the node runs nothing locally.</summary>
    public double ThermalLimitCelsius { get; set; } = 80;

    /// <summary>On battery below this charge (%) the node runs nothing locally.</summary>
    public int MinBatteryPercent { get; set; } = 10;
}

public sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options) =>
        new OptionsCheck(RoutingOptions.Section)
            .That(options.ThermalLimitCelsius is > 0 and <= 150, $"Routing:ThermalLimitCelsius must be above 0 and at most 150, not {options.ThermalLimitCelsius}")
            .Range(nameof(RoutingOptions.MinBatteryPercent), options.MinBatteryPercent, 0, 100)
            .Result();
}
