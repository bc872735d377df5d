namespace EdgeLlm.Core.Resources;

/// <summary>
/// What the board has right now (docs/design.md §5), read from procfs and sysfs. Every value that could not be
/// read is null ("unknown"), never a guess.
/// </summary>
public sealed record ResourceSnapshot
{
    public DateTimeOffset TakenAt { get; init; }

    /// <summary>The board as the device tree names it (e.g. "Raspberry Pi 4 Model B Rev 1.4").</summary>
    public string? Board { get; init; }

    // A snapshot read from JSON may leave sections out: they stay unknown (empty), never null.
    public MemoryState Memory { get; init => field = value ?? new(); } = new();

    public CpuState Cpu { get; init => field = value ?? new(); } = new();

    public ThermalState Thermal { get; init => field = value ?? new(); } = new();

    public PowerState Power { get; init => field = value ?? new(); } = new();

    /// <summary>Bytes a new allocation can count on: MemAvailable, capped by what the cgroup still allows.</summary>
    public long? UsableMemoryBytes => Memory switch
    {
        { AvailableBytes: long available, CgroupLimitBytes: long limit, CgroupUsageBytes: long usage } => Math.Min(available, Math.Max(0, limit - usage)),
        { AvailableBytes: long available } => available,
        _ => null,
    };

    /// <summary>The hottest temperature the board reports (CPU or any thermal zone).</summary>
    public double? HottestCelsius => Thermal.Zones.Select(z => (double?)z.Celsius).Append(Cpu.TemperatureCelsius).Max();
}

/// <param name="CgroupLimitBytes">memory.max of the service's cgroup (v2); null when unlimited or not in one.</param>
/// <param name="PressureSomeAvg10">PSI: share of the last 10 s in which some task waited for memory, in percent.</param>
public sealed record MemoryState(
    long? TotalBytes = null,
    long? AvailableBytes = null,
    long? CgroupLimitBytes = null,
    long? CgroupUsageBytes = null,
    double? PressureSomeAvg10 = null,
    double? PressureFullAvg10 = null);

/// <param name="UtilisationPercent">Busy share of all cores since the previous sample; null on the first.</param>
public sealed record CpuState(
    int? Cores = null,
    double? Load1 = null,
    double? Load5 = null,
    double? Load15 = null,
    double? UtilisationPercent = null,
    double? TemperatureCelsius = null);

public sealed record ThermalZone(string Name, string Type, double Celsius);

/// <summary>The Raspberry Pi firmware's get_throttled word, decoded: what holds now and what has happened since boot.</summary>
public sealed record ThrottlingState(
    int Raw,
    bool UnderVoltageNow,
    bool FrequencyCappedNow,
    bool ThrottledNow,
    bool SoftTemperatureLimitNow,
    bool UnderVoltageOccurred,
    bool FrequencyCappedOccurred,
    bool ThrottledOccurred,
    bool SoftTemperatureLimitOccurred)
{
    public static ThrottlingState FromBits(int bits) => new(
        bits,
        (bits & 0x1) != 0,
        (bits & 0x2) != 0,
        (bits & 0x4) != 0,
        (bits & 0x8) != 0,
        (bits & 0x10000) != 0,
        (bits & 0x20000) != 0,
        (bits & 0x40000) != 0,
        (bits & 0x80000) != 0);
}

public sealed record ThermalState
{
    public IReadOnlyList<ThermalZone> Zones { get; init => field = value ?? []; } = [];

    /// <summary>Null where the firmware does not report it (anything but a Raspberry Pi).</summary>
    public ThrottlingState? Throttling { get; init; }
}

/// <param name="Type">Mains, Battery, USB, … as the kernel names it.</param>
public sealed record PowerSupply(string Name, string Type, bool? Online, int? CapacityPercent, string? Status);

public sealed record PowerReading(double Volts, double Amps, double Watts);

public sealed record PowerState
{
    public IReadOnlyList<PowerSupply> Supplies { get; init => field = value ?? []; } = [];

    /// <summary>An INA219 (or similar) on the supply line, when one is configured and answers.</summary>
    public PowerReading? Meter { get; init; }

    /// <summary>True when a battery discharges, false when mains or USB power is online, else unknown.</summary>
    public bool? OnBattery => Supplies.Any(s => s.Type == "Battery" && s.Status == "Discharging") ? true
        : Supplies.Any(s => s.Type is "Mains" or "USB" && s.Online == true) ? false
        : null;

    public int? BatteryPercent => Supplies.FirstOrDefault(s => s.Type == "Battery" && s.CapacityPercent is not null)?.CapacityPercent;
}

/// <summary>The latest snapshot, for whoever decides: reading it never waits for the board.</summary>
public interface IResourceSnapshotSource
{
    ResourceSnapshot Latest { get; }
}
