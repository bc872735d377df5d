using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Tests.Routing;

namespace EdgeLlm.Core.Tests.Resources;

public sealed class ResourceSnapshotJsonTests
{
    [Fact]
    public void Serialize_ThenDeserialize_GivesTheSameSnapshot()
    {
        var snapshot = RoutingScenario.Board(availableMb: 700, celsius: 81.5, throttledBits: 0x50005, onBattery: true, batteryPercent: 8) with
        {
            Memory = new MemoryState(2048L << 20, 700L << 20, 512L << 20, 400L << 20, 1.5, 0.25),
            Power = new PowerState { Supplies = [new PowerSupply("BAT0", "Battery", null, 8, "Discharging")], Meter = new PowerReading(5.1, 0.8, 4.08) },
        };

        var back = ResourceSnapshotJson.Deserialize(ResourceSnapshotJson.Serialize(snapshot));

        Assert.Equal(snapshot.Memory, back.Memory);
        Assert.Equal(snapshot.Cpu, back.Cpu);
        Assert.Equal(snapshot.Thermal.Zones, back.Thermal.Zones);
        Assert.Equal(snapshot.Thermal.Throttling, back.Thermal.Throttling);
        Assert.Equal(snapshot.Power.Supplies, back.Power.Supplies);
        Assert.Equal(snapshot.Power.Meter, back.Power.Meter);
        Assert.Equal((snapshot.Board, snapshot.UsableMemoryBytes, true, 8), (back.Board, back.UsableMemoryBytes, back.Power.OnBattery, back.Power.BatteryPercent));
    }

    [Fact]
    public void Serialize_UnknownValues_AreNull()
    {
        using var json = JsonDocument.Parse(ResourceSnapshotJson.Serialize(new ResourceSnapshot()));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("memory").GetProperty("availableBytes").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("thermal").GetProperty("throttling").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("usableMemoryBytes").ValueKind);
    }

    [Fact]
    public void Deserialize_SectionsLeftOut_AreUnknown()
    {
        var snapshot = ResourceSnapshotJson.Deserialize("""{ "memory": { "availableBytes": 1048576 } }"""u8);

        Assert.Equal(1_048_576, snapshot.UsableMemoryBytes);
        Assert.Equal(new CpuState(), snapshot.Cpu);
        Assert.Empty(snapshot.Thermal.Zones);
        Assert.Null(snapshot.HottestCelsius);
        Assert.Null(snapshot.Power.OnBattery);
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("[1, 2]")]
    [InlineData("""{ "memory": { "availableBytes": "lots" } }""")]
    public void Deserialize_NotASnapshot_Throws(string text)
    {
        Assert.ThrowsAny<JsonException>(() => ResourceSnapshotJson.Deserialize(Encoding.UTF8.GetBytes(text)));
    }
}
