using System.Device.Gpio;
using System.Device.Gpio.Drivers;

namespace EdgeLlm.Device.Gpio;

/// <summary>GPIO that cannot be used as configured: no chip, a pin the chip does not have, a mode it cannot do.</summary>
public sealed class GpioUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Opens the driver of a GPIO chip: libgpiod on a board, a simulation in tests.</summary>
public interface IGpioDriverSource
{
    /// <summary>The chip's driver; <see cref="GpioUnavailableException"/> when there is no such chip.</summary>
    GpioDriver Open(int chip);
}

/// <summary>
/// /dev/gpiochip{n} through libgpiod (Debian and Raspberry Pi OS: package libgpiod2): the character device
/// every current kernel offers, and the only one on a Pi 5; unlike /dev/gpiomem it works from a hardened
/// service given just that device.
/// </summary>
internal sealed class LibGpiodDriverSource : IGpioDriverSource
{
    public GpioDriver Open(int chip)
    {
        string device = $"/dev/gpiochip{chip}";
        if (!File.Exists(device))
        {
            string[] chips = Directory.Exists("/dev") ? [.. Directory.GetFiles("/dev", "gpiochip*").Order(StringComparer.Ordinal)] : [];
            throw new GpioUnavailableException(
                $"{device} does not exist ({(chips.Length == 0 ? "this machine has no GPIO chip" : $"there are {string.Join(", ", chips)}: set Gpio:Chip")}); set Gpio:Optional=true to run without GPIO");
        }

        try
        {
            return new LibGpiodDriver(chip);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or DllNotFoundException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new GpioUnavailableException($"{device} cannot be opened ({e.Message}): is libgpiod installed, and may this user open the device (group gpio)?", e);
        }
    }
}
