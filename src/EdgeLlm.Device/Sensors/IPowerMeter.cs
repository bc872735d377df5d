using System.Device.I2c;
using EdgeLlm.Core.Resources;
using Iot.Device.Adc;

namespace EdgeLlm.Device.Sensors;

/// <summary>A meter on the board's supply line.</summary>
public interface IPowerMeter
{
    bool TryRead(out PowerReading reading);
}

/// <summary>The meter of a board that has none.</summary>
internal sealed class NoPowerMeter : IPowerMeter
{
    public bool TryRead(out PowerReading reading)
    {
        reading = new PowerReading(double.NaN, double.NaN, double.NaN);
        return false;
    }
}

/// <summary>
/// An INA219 current and power monitor over I2C (Iot.Device.Bindings), calibrated for its shunt resistor and
/// the largest current expected: current LSB = maxAmps / 2^15, calibration = 0.04096 / (LSB × shunt ohms).
/// </summary>
internal sealed class Ina219PowerMeter : IPowerMeter, IDisposable
{
    private readonly Ina219 _sensor;

    public Ina219PowerMeter(I2cDevice device, double shuntOhms, double maxAmps)
    {
        _sensor = new Ina219(device);
        float currentLsb = (float)(maxAmps / 32768);
        _sensor.SetCalibration((ushort)Math.Min(ushort.MaxValue, 0.04096 / (currentLsb * shuntOhms)), currentLsb);
    }

    public bool TryRead(out PowerReading reading)
    {
        try
        {
            reading = new PowerReading(
                Math.Round(_sensor.ReadBusVoltage().Volts, 3),
                Math.Round(_sensor.ReadCurrent().Amperes, 4),
                Math.Round((double)_sensor.ReadPower().Watts, 3));
            return true;
        }
        catch (IOException)
        {
            reading = new PowerReading(double.NaN, double.NaN, double.NaN);
            return false;
        }
    }

    public void Dispose() => _sensor.Dispose();
}
