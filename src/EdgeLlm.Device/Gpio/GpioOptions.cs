using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Gpio;

/// <summary>
/// Configuration section "Gpio": buttons that ask preset prompts and LEDs that show what the node does, on
/// one GPIO chip (/dev/gpiochip{Chip}, through libgpiod). Off while neither is configured.
/// </summary>
public sealed class GpioOptions
{
    public const string Section = "Gpio";

    /// <summary>The GPIO chip: 0 on a Raspberry Pi 4 and on a Pi 5 with a current kernel (4 on older Pi 5 kernels).</summary>
    public int Chip { get; set; }

    /// <summary>When the chip or a pin is missing: true logs a warning and runs without GPIO; false stops the start.</summary>
    public bool Optional { get; set; }

    /// <summary>A press while an earlier press is still being answered: <see cref="PressPolicies"/>.</summary>
    public string WhileBusy { get; set; } = PressPolicies.Queue;

    /// <summary>How long an error LED stays lit after an error reply.</summary>
    public int ErrorHoldSeconds { get; set; } = 5;

    public ButtonOptions[] Buttons { get; set; } = [];

    public LedOptions[] Leds { get; set; } = [];

    public bool Enabled => Buttons.Length > 0 || Leds.Length > 0;
}

/// <summary>What a press does while another press is still being answered.</summary>
public static class PressPolicies
{
    /// <summary>It goes into the node's queue behind the earlier one.</summary>
    public const string Queue = "queue";

    /// <summary>It is answered busy at once.</summary>
    public const string Refuse = "refuse";

    public static IReadOnlyList<string> All { get; } = [Queue, Refuse];
}

/// <summary>A button: a GPIO input bound to a preset prompt with its requirements.</summary>
public sealed class ButtonOptions
{
    /// <summary>The line offset on the chip (the BCM number on a Raspberry Pi).</summary>
    public int Pin { get; set; } = -1;

    /// <summary>"up" (a button to ground, the usual wiring), "down" or "none" (an external resistor).</summary>
    public string Pull { get; set; } = "up";

    /// <summary>The edge that is a press: "falling" (pull-up wiring) or "rising".</summary>
    public string Edge { get; set; } = "falling";

    /// <summary>Edges within this long of the last press are contact bounce, not presses.</summary>
    public int DebounceMs { get; set; } = 50;

    public string Prompt { get; set; } = "";

    public string? System { get; set; }

    public string? Domain { get; set; }

    public int? MaxTokens { get; set; }

    public int? MaxLatencyMs { get; set; }

    public double? MinQuality { get; set; }

    /// <summary>"any", "fleet" or "local" (docs/design.md §3).</summary>
    public string Privacy { get; set; } = "any";

    /// <summary>Where the answer is published; empty means {prefix}/node/{nodeId}/button/{Pin}.</summary>
    public string Topic { get; set; } = "";
}

/// <summary>An LED (or any GPIO output) lit while the node is in one state.</summary>
public sealed class LedOptions
{
    public int Pin { get; set; } = -1;

    /// <summary>The state it shows: see <see cref="LedStates"/>.</summary>
    public string Shows { get; set; } = LedStates.Busy;

    /// <summary>Lit by driving the pin low (an LED wired to 3.3 V).</summary>
    public bool ActiveLow { get; set; }
}

/// <summary>The states an LED can show.</summary>
public static class LedStates
{
    /// <summary>Nothing running, queued, escalated or failed lately.</summary>
    public const string Idle = "idle";

    /// <summary>A request is running here, queued, or waiting for its model.</summary>
    public const string Busy = "busy";

    /// <summary>An upper tier is answering a request of this node.</summary>
    public const string Escalated = "escalated";

    /// <summary>An error reply went out within Gpio:ErrorHoldSeconds.</summary>
    public const string Error = "error";

    public static IReadOnlyList<string> All { get; } = [Idle, Busy, Escalated, Error];
}

/// <summary>Checks <see cref="GpioOptions"/> as far as can be told without the chip: every bad value, named by its key.</summary>
public sealed class GpioOptionsValidator : IValidateOptions<GpioOptions>
{
    public ValidateOptionsResult Validate(string? name, GpioOptions options)
    {
        var check = new OptionsCheck(GpioOptions.Section)
            .Range(nameof(GpioOptions.Chip), options.Chip, 0, 63)
            .That(PressPolicies.All.Contains(options.WhileBusy), $"Gpio:WhileBusy must be one of {string.Join(", ", PressPolicies.All)}, not '{options.WhileBusy}'")
            .Range(nameof(GpioOptions.ErrorHoldSeconds), options.ErrorHoldSeconds, 0, 3600);
        for (int i = 0; i < options.Buttons.Length; i++)
        {
            var button = options.Buttons[i];
            string key = $"Gpio:Buttons:{i}";
            check.That(button.Pin >= 0, $"{key}:Pin must be a GPIO line number, not {button.Pin}")
                .That(button.Pull is "up" or "down" or "none", $"{key}:Pull must be up, down or none, not '{button.Pull}'")
                .That(button.Edge is "falling" or "rising", $"{key}:Edge must be falling or rising, not '{button.Edge}'")
                .That(button.DebounceMs is >= 0 and <= 10_000, $"{key}:DebounceMs must be from 0 to 10000, not {button.DebounceMs}")
                .That(button.Prompt.Trim().Length > 0, $"{key}:Prompt must be the prompt the button asks")
                .That(button.Privacy is "any" or "fleet" or "local", $"{key}:Privacy must be any, fleet or local, not '{button.Privacy}'")
                .That(button.MaxTokens is null or > 0, $"{key}:MaxTokens must be positive")
                .That(button.MaxLatencyMs is null or > 0, $"{key}:MaxLatencyMs must be positive")
                .That(button.MinQuality is null or (>= 0 and <= 1), $"{key}:MinQuality must be from 0 to 1");
        }

        for (int i = 0; i < options.Leds.Length; i++)
        {
            var led = options.Leds[i];
            check.That(led.Pin >= 0, $"Gpio:Leds:{i}:Pin must be a GPIO line number, not {led.Pin}")
                .That(LedStates.All.Contains(led.Shows), $"Gpio:Leds:{i}:Shows must be one of {string.Join(", ", LedStates.All)}, not '{led.Shows}'");
        }

        foreach (var pin in options.Buttons.Select(b => b.Pin).Concat(options.Leds.Select(l => l.Pin)).Where(p => p >= 0).GroupBy(p => p).Where(g => g.Count() > 1))
        {
            check.That(false, $"Gpio: pin {pin.Key} is used {pin.Count()} times (a pin is one button or one LED)");
        }

        return check.Result();
    }
}
