using System.Device.Gpio;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Gpio;

/// <summary>
/// The board's GPIO as configured: opens the chip, checks that it has every pin and can put each in its mode
/// (inputs with their pull for buttons, outputs for LEDs, all off), and holds the controller for the button
/// panel and the status lights. Missing GPIO stops the start with the reason, or with Gpio:Optional leaves a
/// warning and a node without buttons and lights.
/// </summary>
internal sealed partial class GpioBoard(IOptions<GpioOptions> options, IGpioDriverSource drivers, ILogger<GpioBoard> logger) : IHostedService, IDisposable
{
    private readonly GpioOptions _options = options.Value;

    /// <summary>The opened chip; null when GPIO is not configured or not available (optional).</summary>
    public GpioController? Controller { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return Task.CompletedTask;
        }

        GpioController? controller = null;
        try
        {
            controller = new GpioController(drivers.Open(_options.Chip));
            for (int i = 0; i < _options.Buttons.Length; i++)
            {
                var button = _options.Buttons[i];
                Open(controller, $"Gpio:Buttons:{i}:Pin", button.Pin, button.Pull switch { "up" => PinMode.InputPullUp, "down" => PinMode.InputPullDown, _ => PinMode.Input });
            }

            for (int i = 0; i < _options.Leds.Length; i++)
            {
                var led = _options.Leds[i];
                Open(controller, $"Gpio:Leds:{i}:Pin", led.Pin, PinMode.Output);
                controller.Write(led.Pin, led.ActiveLow ? PinValue.High : PinValue.Low);
            }

            Controller = controller;
            Log.ChipOpened(logger, _options.Chip, _options.Buttons.Length, _options.Leds.Length);
        }
        catch (GpioUnavailableException e) when (_options.Optional)
        {
            controller?.Dispose();
            Log.GpioUnavailable(logger, e.Message);
        }
        catch
        {
            controller?.Dispose();
            throw;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => Controller?.Dispose();

    private void Open(GpioController controller, string key, int pin, PinMode mode)
    {
        if (pin >= controller.PinCount)
        {
            throw new GpioUnavailableException($"{key} {pin}: gpiochip{_options.Chip} has lines 0 to {controller.PinCount - 1}");
        }

        if (!controller.IsPinModeSupported(pin, mode))
        {
            throw new GpioUnavailableException($"{key} {pin}: gpiochip{_options.Chip} cannot make it {mode}");
        }

        controller.OpenPin(pin, mode);
    }
}
