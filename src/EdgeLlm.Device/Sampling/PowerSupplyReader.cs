using EdgeLlm.Core.Resources;

namespace EdgeLlm.Device.Sampling;

/// <summary>/sys/class/power_supply: each supply's type, whether it is online, and a battery's capacity and status.</summary>
internal static class PowerSupplyReader
{
    public static IReadOnlyList<PowerSupply> Read(ISysFs sysFs) =>
        [.. sysFs.List("sys/class/power_supply").Select(name =>
        {
            string folder = $"sys/class/power_supply/{name}";
            return new PowerSupply(
                name,
                sysFs.ReadTrimmed($"{folder}/type") ?? "Unknown",
                sysFs.TryReadInt64($"{folder}/online", out long online) ? online != 0 : null,
                sysFs.TryReadInt64($"{folder}/capacity", out long capacity) ? (int)Math.Clamp(capacity, 0, 100) : null,
                sysFs.ReadTrimmed($"{folder}/status"));
        })];
}
