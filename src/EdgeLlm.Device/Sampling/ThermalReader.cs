using System.Globalization;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Device.Sampling;

/// <summary>Every thermal zone (millidegrees in sysfs) and the Raspberry Pi firmware's throttling word.</summary>
internal static class ThermalReader
{
    public const string ThrottledPath = "sys/devices/platform/soc/soc:firmware/get_throttled";

    public static ThermalState Read(ISysFs sysFs)
    {
        var zones = new List<ThermalZone>();
        foreach (string zone in sysFs.List("sys/class/thermal").Where(z => z.StartsWith("thermal_zone", StringComparison.Ordinal)))
        {
            if (sysFs.TryReadInt64($"sys/class/thermal/{zone}/temp", out long millidegrees))
            {
                zones.Add(new ThermalZone(zone, sysFs.ReadTrimmed($"sys/class/thermal/{zone}/type") ?? "unknown", millidegrees / 1000.0));
            }
        }

        return new ThermalState { Zones = zones, Throttling = Throttling(sysFs) };
    }

    // Hex digits, with or without "0x" (the firmware driver prints "50005"; vcgencmd prints "throttled=0x50005").
    private static ThrottlingState? Throttling(ISysFs sysFs)
    {
        if (sysFs.ReadTrimmed(ThrottledPath) is not string text)
        {
            return null;
        }

        string hex = text.Contains('=') ? text[(text.IndexOf('=') + 1)..] : text;
        hex = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        return int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int bits) ? ThrottlingState.FromBits(bits) : null;
    }
}
