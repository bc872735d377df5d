using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Device.Sampling;
using EdgeLlm.Device.Sensors;
using EdgeLlm.Tests;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Device.Tests.Sampling;

public sealed class ResourceSamplerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Sample_CoolPi4With2GB_ReadsEverySection()
    {
        using var board = FakeBoard.CoolPi4();

        var snapshot = Sampler(board).Sample();

        Assert.Equal("Raspberry Pi 4 Model B Rev 1.4", snapshot.Board);
        Assert.Equal("pi4", BoardClasses.Of("", snapshot.Board));
        Assert.Equal(new MemoryState(1_899_580L * 1024, 1_503_112L * 1024, null, null, 0, 0), snapshot.Memory);
        Assert.Equal(1_503_112L * 1024, snapshot.UsableMemoryBytes);
        Assert.Equal((4, 0.08, 0.12, 0.10), (snapshot.Cpu.Cores, snapshot.Cpu.Load1, snapshot.Cpu.Load5, snapshot.Cpu.Load15));
        Assert.Null(snapshot.Cpu.UtilisationPercent);
        Assert.Equal(44.303, snapshot.Cpu.TemperatureCelsius);
        Assert.Equal([new ThermalZone("thermal_zone0", "cpu-thermal", 44.303)], snapshot.Thermal.Zones);
        Assert.Equal(ThrottlingState.FromBits(0), snapshot.Thermal.Throttling);
        Assert.Empty(snapshot.Power.Supplies);
        Assert.Null(snapshot.Power.OnBattery);
        Assert.Equal(_time.GetUtcNow(), snapshot.TakenAt);
    }

    [Fact]
    public void Sample_Pi5At85WithThrottledBits_ReadsHeatAndThrottling()
    {
        using var board = new FakeBoard().Model("Raspberry Pi 5 Model B Rev 1.0").Zone(0, "cpu-thermal", 85_150).Zone(1, "rp1_adc", 61_000).Throttled("0xe000e");

        var snapshot = Sampler(board).Sample();

        Assert.Equal(85.15, snapshot.HottestCelsius);
        Assert.Equal(2, snapshot.Thermal.Zones.Count);
        var throttling = snapshot.Thermal.Throttling!;
        Assert.Equal((false, true, true, true), (throttling.UnderVoltageNow, throttling.FrequencyCappedNow, throttling.ThrottledNow, throttling.SoftTemperatureLimitNow));
        Assert.Equal((false, true, true, true), (throttling.UnderVoltageOccurred, throttling.FrequencyCappedOccurred, throttling.ThrottledOccurred, throttling.SoftTemperatureLimitOccurred));
        Assert.Equal("pi5", BoardClasses.Of("", snapshot.Board));
    }

    [Fact]
    public void Sample_UnderVoltageBoard_ReadsTheFirmwareWord()
    {
        using var board = new FakeBoard().Throttled("50005");

        var throttling = Sampler(board).Sample().Thermal.Throttling!;

        Assert.Equal(0x50005, throttling.Raw);
        Assert.True(throttling.UnderVoltageNow);
        Assert.True(throttling.ThrottledNow);
        Assert.True(throttling.UnderVoltageOccurred);
        Assert.False(throttling.FrequencyCappedNow);
    }

    [Fact]
    public void Sample_OnBatteryAt8Percent_ReadsThePowerSupplies()
    {
        using var board = new FakeBoard().Supply("AC", "Mains", online: 0).Supply("BAT0", "Battery", capacity: 8, status: "Discharging");

        var power = Sampler(board).Sample().Power;

        Assert.Equal([new PowerSupply("AC", "Mains", false, null, null), new PowerSupply("BAT0", "Battery", null, 8, "Discharging")], power.Supplies);
        Assert.True(power.OnBattery);
        Assert.Equal(8, power.BatteryPercent);
    }

    [Fact]
    public void Sample_OnMains_IsNotOnBattery()
    {
        using var board = new FakeBoard().Supply("AC", "Mains", online: 1).Supply("BAT0", "Battery", capacity: 100, status: "Full");

        Assert.False(Sampler(board).Sample().Power.OnBattery);
    }

    [Fact]
    public void Sample_ServiceCappedByItsCgroup_CountsOnlyWhatTheCgroupAllows()
    {
        using var board = FakeBoard.CoolPi4().Cgroup("/system.slice/edgellm.service", "536870912", 400_000_000).Pressure(1.25, 0.5);

        var snapshot = Sampler(board).Sample();

        Assert.Equal((536_870_912L, 400_000_000L), (snapshot.Memory.CgroupLimitBytes, snapshot.Memory.CgroupUsageBytes));
        Assert.Equal(136_870_912L, snapshot.UsableMemoryBytes);
        Assert.Equal((1.25, 0.5), (snapshot.Memory.PressureSomeAvg10, snapshot.Memory.PressureFullAvg10));
    }

    [Fact]
    public void Sample_CgroupWithoutALimit_CountsMemAvailable()
    {
        using var board = FakeBoard.CoolPi4().Cgroup("/user.slice", "max", 100);

        var snapshot = Sampler(board).Sample();

        Assert.Null(snapshot.Memory.CgroupLimitBytes);
        Assert.Equal(1_503_112L * 1024, snapshot.UsableMemoryBytes);
    }

    [Fact]
    public void Sample_EmptyTree_IsAllUnknown()
    {
        using var board = new FakeBoard();

        var snapshot = Sampler(board).Sample();

        Assert.Equal(new MemoryState(), snapshot.Memory);
        Assert.Equal(new CpuState(), snapshot.Cpu);
        Assert.Empty(snapshot.Thermal.Zones);
        Assert.Null(snapshot.Thermal.Throttling);
        Assert.Null(snapshot.UsableMemoryBytes);
        Assert.Null(snapshot.HottestCelsius);
        Assert.Null(snapshot.Board);
    }

    [Fact]
    public void Sample_GarbledFiles_AreUnknownNotCrashes()
    {
        using var board = new FakeBoard().File("proc/meminfo", "MemTotal: lots kB\n").File("proc/loadavg", "x y z").File("proc/stat", "garbage").Throttled("throttled=0xZZ").Zone(0, "cpu", 0).File("sys/class/thermal/thermal_zone0/temp", "hot");

        var snapshot = Sampler(board).Sample();

        Assert.Null(snapshot.Memory.TotalBytes);
        Assert.Null(snapshot.Cpu.Load1);
        Assert.Null(snapshot.Cpu.UtilisationPercent);
        Assert.Null(snapshot.Thermal.Throttling);
        Assert.Empty(snapshot.Thermal.Zones);
    }

    [Fact]
    public void Sample_Twice_ReportsUtilisationBetweenTheSamples()
    {
        using var board = FakeBoard.CoolPi4();
        var sampler = Sampler(board);
        sampler.Sample();
        // 400 more ticks, 100 of them busy (user + system): 25%.
        board.File("proc/stat", "cpu  10080 0 5020 185280 1020 0 200 0 0 0\n");

        Assert.Equal(25.0, sampler.Sample().Cpu.UtilisationPercent);
    }

    [Fact]
    public void Sample_WithAPowerMeter_CarriesItsReading()
    {
        using var board = new FakeBoard();
        var sampler = new ResourceSampler(new RootedSysFs(board.Root), new SysFsCpuTemperature(new RootedSysFs(board.Root)), new FixedMeter(new PowerReading(5.08, 0.92, 4.67)), _time);

        Assert.Equal(new PowerReading(5.08, 0.92, 4.67), sampler.Sample().Power.Meter);
    }

    private ResourceSampler Sampler(FakeBoard board)
    {
        var sysFs = new RootedSysFs(board.Root);
        return new ResourceSampler(sysFs, new SysFsCpuTemperature(sysFs), new NoPowerMeter(), _time);
    }

    private sealed class FixedMeter(PowerReading reading) : IPowerMeter
    {
        public bool TryRead(out PowerReading value)
        {
            value = reading;
            return true;
        }
    }
}
