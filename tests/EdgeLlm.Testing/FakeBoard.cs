namespace EdgeLlm.Tests;

/// <summary>A procfs/sysfs tree shaped like a real board's, under a temporary root.</summary>
public sealed class FakeBoard : IDisposable
{
    private readonly TempDirectory _root = new();

    public string Root => _root.Path;

    public FakeBoard File(string path, string content)
    {
        string full = _root.Combine(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        return this;
    }

    public FakeBoard Memory(long totalKb, long availableKb) =>
        File("proc/meminfo", $"MemTotal:       {totalKb} kB\nMemFree:          123456 kB\nMemAvailable:   {availableKb} kB\nBuffers:           12345 kB\n");

    public FakeBoard Cpu(string online, string loadavg, string stat) =>
        File("sys/devices/system/cpu/online", online + "\n").File("proc/loadavg", loadavg + "\n").File("proc/stat", stat);

    public FakeBoard Zone(int index, string type, int millidegrees) =>
        File($"sys/class/thermal/thermal_zone{index}/type", type + "\n").File($"sys/class/thermal/thermal_zone{index}/temp", $"{millidegrees}\n");

    public FakeBoard Throttled(string word) => File("sys/devices/platform/soc/soc:firmware/get_throttled", word + "\n");

    public FakeBoard Model(string model) => File("proc/device-tree/model", model + "\0");

    public FakeBoard Supply(string name, string type, int? online = null, int? capacity = null, string? status = null)
    {
        File($"sys/class/power_supply/{name}/type", type + "\n");
        if (online is int on)
        {
            File($"sys/class/power_supply/{name}/online", $"{on}\n");
        }

        if (capacity is int percent)
        {
            File($"sys/class/power_supply/{name}/capacity", $"{percent}\n");
        }

        if (status is not null)
        {
            File($"sys/class/power_supply/{name}/status", status + "\n");
        }

        return this;
    }

    public FakeBoard Cgroup(string path, string max, long current) =>
        File("proc/self/cgroup", $"0::{path}\n")
            .File($"sys/fs/cgroup{path}/memory.max", max + "\n")
            .File($"sys/fs/cgroup{path}/memory.current", $"{current}\n");

    public FakeBoard Pressure(double some, double full) =>
        File("proc/pressure/memory", $"some avg10={some:F2} avg60=0.00 avg300=0.00 total=1234\nfull avg10={full:F2} avg60=0.00 avg300=0.00 total=567\n");

    /// <summary>A Raspberry Pi 4 with 2 GB, idle and cool.</summary>
    public static FakeBoard CoolPi4() => new FakeBoard()
        .Model("Raspberry Pi 4 Model B Rev 1.4")
        .Memory(1_899_580, 1_503_112)
        .Cpu("0-3", "0.08 0.12 0.10 1/187 2345", "cpu  10000 0 5000 185000 1000 0 200 0 0 0\ncpu0 2500 0 1250 46250 250 0 50 0 0 0\n")
        .Zone(0, "cpu-thermal", 44_303)
        .Throttled("0")
        .Pressure(0, 0);

    public void Dispose() => _root.Dispose();
}
