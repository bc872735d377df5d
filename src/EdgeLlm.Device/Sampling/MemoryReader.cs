using System.Globalization;
using EdgeLlm.Core.Resources;

namespace EdgeLlm.Device.Sampling;

/// <summary>/proc/meminfo, the service's cgroup v2 memory.max and memory.current, and /proc/pressure/memory.</summary>
internal static class MemoryReader
{
    public static MemoryState Read(ISysFs sysFs)
    {
        long? total = null;
        long? available = null;
        if (sysFs.TryReadText("proc/meminfo", out string meminfo))
        {
            foreach (string line in meminfo.Split('\n'))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    total = Kilobytes(line);
                }
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    available = Kilobytes(line);
                }
            }
        }

        var (limit, usage) = Cgroup(sysFs);
        var (some, full) = Pressure(sysFs);
        return new MemoryState(total, available, limit, usage, some, full);
    }

    // "MemAvailable:    1843200 kB"
    private static long? Kilobytes(string line)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kilobytes) ? kilobytes * 1024 : null;
    }

    // cgroup v2: /proc/self/cgroup holds "0::/system.slice/edgellm.service"; "max" means no limit.
    private static (long? Limit, long? Usage) Cgroup(ISysFs sysFs)
    {
        if (sysFs.ReadTrimmed("proc/self/cgroup") is not string membership)
        {
            return (null, null);
        }

        string? path = membership.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..].Trim('/');
        if (path is null)
        {
            return (null, null);
        }

        string folder = path.Length == 0 ? "sys/fs/cgroup" : $"sys/fs/cgroup/{path}";
        long? limit = sysFs.ReadTrimmed($"{folder}/memory.max") is string max && long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) ? bytes : null;
        long? usage = sysFs.TryReadInt64($"{folder}/memory.current", out long current) ? current : null;
        return (limit, usage);
    }

    // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and "full avg10=…"
    private static (double? Some, double? Full) Pressure(ISysFs sysFs)
    {
        if (!sysFs.TryReadText("proc/pressure/memory", out string pressure))
        {
            return (null, null);
        }

        double? some = null;
        double? full = null;
        foreach (string line in pressure.Split('\n'))
        {
            string? avg10 = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("avg10=", StringComparison.Ordinal))?[6..];
            double? value = double.TryParse(avg10, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed : null;
            if (line.StartsWith("some", StringComparison.Ordinal))
            {
                some = value;
            }
            else if (line.StartsWith("full", StringComparison.Ordinal))
            {
                full = value;
            }
        }

        return (some, full);
    }
}
