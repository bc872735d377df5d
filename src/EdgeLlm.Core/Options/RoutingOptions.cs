using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>Configuration section "Routing": the limits the recommender holds the board to (docs/design.md §7).</summary>
public sealed class RoutingOptions
{
    public const string Section = "Routing";

    /// <summary>Which measured model rates apply ("pi4", "pi5", "x64", …); empty detects it from the board.</summary>
    public string BoardClass { get; set; } = "";

    /// <summary>At or above this temperature (°C) the node runs nothing locally.</summary>
    [Between(0, 150, ExclusiveMinimum = true)]
    public double ThermalLimitCelsius { get; set; } = 80;

    /// <summary>On battery below this charge (%) the node runs nothing locally.</summary>
    [Between(0, 100)]
    public int MinBatteryPercent { get; set; } = 10;
}

[OptionsValidator]
public sealed partial class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<RoutingOptions> Keyed { get; } = new KeyedValidator<RoutingOptions>(RoutingOptions.Section, new RoutingOptionsValidator());
}
