using EdgeLlm.Core.Resources;
using EdgeLlm.Device.Sensors;

namespace EdgeLlm.Device.Sampling;

/// <summary>Takes a <see cref="ResourceSnapshot"/> from procfs, sysfs and the optional sensors. Not thread-safe: one sampler per sampling loop.</summary>
public sealed class ResourceSampler(ISysFs sysFs, ICpuTemperature cpuTemperature, IPowerMeter powerMeter, TimeProvider time)
{
    private readonly CpuReader _cpu = new();

    public ResourceSnapshot Sample() => new()
    {
        TakenAt = time.GetUtcNow(),
        Board = sysFs.ReadTrimmed("proc/device-tree/model"),
        Memory = MemoryReader.Read(sysFs),
        Cpu = _cpu.Read(sysFs, cpuTemperature.TryRead(out double celsius) ? celsius : null),
        Thermal = ThermalReader.Read(sysFs),
        Power = new PowerState
        {
            Supplies = PowerSupplyReader.Read(sysFs),
            Meter = powerMeter.TryRead(out var reading) ? reading : null,
        },
    };
}
