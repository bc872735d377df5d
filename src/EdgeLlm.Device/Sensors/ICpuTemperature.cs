using EdgeLlm.Core.Resources;

namespace EdgeLlm.Device.Sensors;

/// <summary>The CPU's temperature, when the board can tell it.</summary>
public interface ICpuTemperature
{
    bool TryRead(out double celsius);
}

/// <summary>dotnet/iot's CpuTemperature (on Linux, thermal zone 0 of the real /sys): used when the node reads the real board.</summary>
internal sealed class IotCpuTemperature : ICpuTemperature, IDisposable
{
    private readonly Iot.Device.CpuTemperature.CpuTemperature _sensor = new();

    public bool TryRead(out double celsius)
    {
        celsius = double.NaN;
        if (!_sensor.IsAvailable)
        {
            return false;
        }

        try
        {
            celsius = _sensor.Temperature.DegreesCelsius;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return false;
        }

        return double.IsFinite(celsius);
    }

    public void Dispose() => _sensor.Dispose();
}

/// <summary>The same reading from thermal zone 0 under the configured root: CpuTemperature's path cannot be moved.</summary>
internal sealed class SysFsCpuTemperature(ISysFs sysFs) : ICpuTemperature
{
    public bool TryRead(out double celsius)
    {
        bool read = sysFs.TryReadInt64("sys/class/thermal/thermal_zone0/temp", out long millidegrees);
        celsius = millidegrees / 1000.0;
        return read;
    }
}
