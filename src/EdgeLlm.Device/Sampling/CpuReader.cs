using System.Globalization;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Device.Sampling;

/// <summary>Cores, load averages, and utilisation since the previous sample (from /proc/stat's cumulative counters).</summary>
internal sealed class CpuReader
{
    private (long Busy, long Total)? _previous;

    public CpuState Read(ISysFs sysFs, double? temperatureCelsius)
    {
        double? load1 = null;
        double? load5 = null;
        double? load15 = null;
        if (sysFs.ReadTrimmed("proc/loadavg") is string loadavg)
        {
            string[] parts = loadavg.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            load1 = Number(parts, 0);
            load5 = Number(parts, 1);
            load15 = Number(parts, 2);
        }

        return new CpuState(Cores(sysFs), load1, load5, load15, Utilisation(sysFs), temperatureCelsius);
    }

    // "0-3" or "0,2-3": the online CPUs; else the processors /proc/cpuinfo lists.
    private static int? Cores(ISysFs sysFs)
    {
        if (sysFs.ReadTrimmed("sys/devices/system/cpu/online") is string online && online.Length > 0)
        {
            int count = 0;
            foreach (string range in online.Split(','))
            {
                string[] ends = range.Split('-');
                if (!int.TryParse(ends[0], CultureInfo.InvariantCulture, out int first) || !int.TryParse(ends[^1], CultureInfo.InvariantCulture, out int last))
                {
                    return null;
                }

                count += last - first + 1;
            }

            return count;
        }

        return sysFs.TryReadText("proc/cpuinfo", out string cpuinfo)
            ? cpuinfo.Split('\n').Count(l => l.StartsWith("processor", StringComparison.Ordinal)) is int processors and > 0 ? processors : null
            : null;
    }

    // The first line of /proc/stat: "cpu  user nice system idle iowait irq softirq steal …", in clock ticks.
    private double? Utilisation(ISysFs sysFs)
    {
        if (sysFs.ReadTrimmed("proc/stat") is not string stat || !stat.StartsWith("cpu ", StringComparison.Ordinal))
        {
            return null;
        }

        long[] ticks = [.. stat.Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : 0)];
        if (ticks.Length < 4)
        {
            return null;
        }

        long idle = ticks[3] + (ticks.Length > 4 ? ticks[4] : 0);
        long total = ticks.Sum();
        var current = (Busy: total - idle, Total: total);
        var previous = _previous;
        _previous = current;
        return previous is { } before && current.Total > before.Total
            ? Math.Round(100.0 * (current.Busy - before.Busy) / (current.Total - before.Total), 1)
            : null;
    }

    private static double? Number(string[] parts, int index) =>
        index < parts.Length && double.TryParse(parts[index], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : null;
}
