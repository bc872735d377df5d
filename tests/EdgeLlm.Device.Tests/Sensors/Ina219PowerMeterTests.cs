using System.Buffers.Binary;
using System.Device.I2c;
using EdgeLlm.Device.Sensors;

namespace EdgeLlm.Device.Tests.Sensors;

public sealed class Ina219PowerMeterTests
{
    [Fact]
    public void TryRead_ComputesVoltsAmpsWattsFromTheRegisters()
    {
        // 5.1 V on the bus, 0.8 A through a 0.1 Ω shunt.
        var chip = new SimulatedIna219(busVolts: 5.1, amps: 0.8, shuntOhms: 0.1);
        using var meter = new Ina219PowerMeter(chip, shuntOhms: 0.1, maxAmps: 3.2);

        Assert.True(meter.TryRead(out var reading));

        Assert.Equal(5.1, reading.Volts, 2);
        Assert.Equal(0.8, reading.Amps, 2);
        Assert.Equal(5.1 * 0.8, reading.Watts, 1);
        Assert.NotEqual(0, chip.Calibration);
    }

    [Fact]
    public void TryRead_BusError_IsNotAReading()
    {
        var chip = new SimulatedIna219(busVolts: 5, amps: 1, shuntOhms: 0.1);
        using var meter = new Ina219PowerMeter(chip, shuntOhms: 0.1, maxAmps: 3.2);
        chip.Failing = true;

        Assert.False(meter.TryRead(out _));
    }

    /// <summary>
    /// An INA219 as its datasheet describes it: register pointer writes, big-endian registers, the shunt
    /// voltage in 10 µV steps, the bus voltage in 4 mV steps (shifted left 3), current = shunt × calibration /
    /// 4096, power = current × bus / 5000.
    /// </summary>
    private sealed class SimulatedIna219(double busVolts, double amps, double shuntOhms) : I2cDevice
    {
        private byte _pointer;

        public ushort Calibration { get; private set; }

        public bool Failing { get; set; }

        public override I2cConnectionSettings ConnectionSettings { get; } = new(1, 0x40);

        public override void Read(Span<byte> buffer)
        {
            ThrowIfFailing();
            BinaryPrimitives.WriteUInt16BigEndian(buffer, Register(_pointer));
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ThrowIfFailing();
            _pointer = buffer[0];
            if (buffer.Length == 3 && _pointer == 5)
            {
                Calibration = BinaryPrimitives.ReadUInt16BigEndian(buffer[1..]);
            }
        }

        public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
        {
            Write(writeBuffer);
            Read(readBuffer);
        }

        private ushort Register(byte register)
        {
            int shunt = (int)Math.Round(amps * shuntOhms / 10e-6);
            int bus = (int)Math.Round(busVolts / 0.004);
            int current = shunt * Calibration / 4096;
            return register switch
            {
                1 => (ushort)shunt,
                2 => (ushort)(bus << 3),
                3 => (ushort)(current * bus / 5000),
                4 => (ushort)current,
                5 => Calibration,
                _ => 0x399F,
            };
        }

        private void ThrowIfFailing()
        {
            if (Failing)
            {
                throw new IOException("Error 121 performing I2C data transfer.");
            }
        }
    }
}
