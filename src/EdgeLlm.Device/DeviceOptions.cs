using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device;

/// <summary>Configuration section "Device": where the board's state is read, and how often.</summary>
public sealed class DeviceOptions
{
    public const string Section = "Device";

    /// <summary>The root under which proc/ and sys/ are read; "/" on a board, a fake tree in tests.</summary>
    public string SysfsRoot { get; set; } = "/";

    /// <summary>Seconds between snapshots (1 to 3600).</summary>
    public int SampleSeconds { get; set; } = 5;

    /// <summary>An INA219 on the supply line; absent (no bus) when there is none.</summary>
    public Ina219Options Ina219 { get; set; } = new();
}

public sealed class Ina219Options
{
    /// <summary>The I2C bus (1 on a Raspberry Pi's header); -1 means no INA219.</summary>
    public int Bus { get; set; } = -1;

    /// <summary>The I2C address, 0x40 to 0x4F for an INA219.</summary>
    public int Address { get; set; } = 0x40;

    public double ShuntOhms { get; set; } = 0.1;

    /// <summary>The largest current expected; it sets the resolution of the readings.</summary>
    public double MaxAmps { get; set; } = 3.2;
}

public sealed class DeviceOptionsValidator : IValidateOptions<DeviceOptions>
{
    public ValidateOptionsResult Validate(string? name, DeviceOptions options) =>
        new OptionsCheck(DeviceOptions.Section)
            .That(Directory.Exists(options.SysfsRoot), $"Device:SysfsRoot: no such folder '{options.SysfsRoot}'")
            .Range(nameof(DeviceOptions.SampleSeconds), options.SampleSeconds, 1, 3600)
            .Range("Ina219:Bus", options.Ina219.Bus, -1, 255)
            .Range("Ina219:Address", options.Ina219.Address, 0x40, 0x4F)
            .That(options.Ina219.ShuntOhms > 0, "Device:Ina219:ShuntOhms must be above 0")
            .That(options.Ina219.MaxAmps > 0, "Device:Ina219:MaxAmps must be above 0")
            .Result();
}
