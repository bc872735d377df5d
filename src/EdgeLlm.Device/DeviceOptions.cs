using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device;

/// <summary>Configuration section "Device": where the board's state is read, and how often.</summary>
public sealed class DeviceOptions
{
    public const string Section = "Device";

    /// <summary>The root under which proc/ and sys/ are read; "/" on a board, a fake tree in tests.</summary>
    [ExistingFolder]
    public string SysfsRoot { get; set; } = "/";

    /// <summary>Seconds between snapshots.</summary>
    [Between(1, 3600)]
    public int SampleSeconds { get; set; } = 5;

    /// <summary>An INA219 on the supply line; absent (no bus) when there is none.</summary>
    [ValidateObjectMembers]
    public Ina219Options Ina219 { get; set; } = new();
}

public sealed class Ina219Options
{
    /// <summary>The I2C bus (1 on a Raspberry Pi's header); -1 means no INA219.</summary>
    [Between(-1, 255)]
    public int Bus { get; set; } = -1;

    /// <summary>The I2C address, 0x40 to 0x4F for an INA219.</summary>
    [Between(0x40, 0x4F)]
    public int Address { get; set; } = 0x40;

    [Between(0, double.MaxValue, ExclusiveMinimum = true, Rule = "above 0", ShowValue = false)]
    public double ShuntOhms { get; set; } = 0.1;

    /// <summary>The largest current expected; it sets the resolution of the readings.</summary>
    [Between(0, double.MaxValue, ExclusiveMinimum = true, Rule = "above 0", ShowValue = false)]
    public double MaxAmps { get; set; } = 3.2;
}

[OptionsValidator]
public sealed partial class DeviceOptionsValidator : IValidateOptions<DeviceOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<DeviceOptions> Keyed { get; } = new KeyedValidator<DeviceOptions>(DeviceOptions.Section, new DeviceOptionsValidator());
}
