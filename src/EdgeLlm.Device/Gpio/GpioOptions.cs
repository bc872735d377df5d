using System.ComponentModel.DataAnnotations;
using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Gpio;

/// <summary>
/// Configuration section "Gpio": buttons that ask preset prompts and LEDs that show what the node does, on
/// one GPIO chip (/dev/gpiochip{Chip}, through libgpiod). Off while neither is configured.
/// </summary>
public sealed class GpioOptions : IValidatableObject
{
    public const string Section = "Gpio";

    /// <summary>The GPIO chip: 0 on a Raspberry Pi 4 and on a Pi 5 with a current kernel (4 on older Pi 5 kernels).</summary>
    [Between(0, 63)]
    public int Chip { get; set; }

    /// <summary>When the chip or a pin is missing: true logs a warning and runs without GPIO; false stops the start.</summary>
    public bool Optional { get; set; }

    /// <summary>A press while an earlier press is still being answered: <see cref="PressPolicies"/>.</summary>
    [OneOf(PressPolicies.Queue, PressPolicies.Refuse)]
    public string WhileBusy { get; set; } = PressPolicies.Queue;

    /// <summary>How long an error LED stays lit after an error reply.</summary>
    [Between(0, 3600)]
    public int ErrorHoldSeconds { get; set; } = 5;

    [ValidateEnumeratedItems]
    public ButtonOptions[] Buttons { get; set; } = [];

    [ValidateEnumeratedItems]
    public LedOptions[] Leds { get; set; } = [];

    public bool Enabled => Buttons.Length > 0 || Leds.Length > 0;

    // A pin is one button or one LED: the rule that spans the lists.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) =>
        Buttons.Select(b => b.Pin).Concat(Leds.Select(l => l.Pin)).Where(p => p >= 0).GroupBy(p => p).Where(g => g.Count() > 1)
            .Select(pin => new ValidationResult($"Gpio: pin {pin.Key} is used {pin.Count()} times (a pin is one button or one LED)"));
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
    [Between(0, int.MaxValue, Rule = "a GPIO line number")]
    public int Pin { get; set; } = -1;

    /// <summary>"up" (a button to ground, the usual wiring), "down" or "none" (an external resistor).</summary>
    [OneOf("up", "down", "none", Rule = "up, down or none")]
    public string Pull { get; set; } = "up";

    /// <summary>The edge that is a press: "falling" (pull-up wiring) or "rising".</summary>
    [OneOf("falling", "rising", Rule = "falling or rising")]
    public string Edge { get; set; } = "falling";

    /// <summary>Edges within this long of the last press are contact bounce, not presses.</summary>
    [Between(0, 10_000)]
    public int DebounceMs { get; set; } = 50;

    [NotBlank("the prompt the button asks")]
    public string Prompt { get; set; } = "";

    public string? System { get; set; }

    public string? Domain { get; set; }

    [Between(1, int.MaxValue, Rule = "positive", ShowValue = false)]
    public int? MaxTokens { get; set; }

    [Between(1, int.MaxValue, Rule = "positive", ShowValue = false)]
    public int? MaxLatencyMs { get; set; }

    [Between(0, 1, ShowValue = false)]
    public double? MinQuality { get; set; }

    /// <summary>"any", "fleet" or "local" (docs/design.md §3).</summary>
    [OneOf("any", "fleet", "local", Rule = "any, fleet or local")]
    public string Privacy { get; set; } = "any";

    /// <summary>Where the answer is published; empty means {prefix}/node/{nodeId}/button/{Pin}.</summary>
    public string Topic { get; set; } = "";
}

/// <summary>An LED (or any GPIO output) lit while the node is in one state.</summary>
public sealed class LedOptions
{
    [Between(0, int.MaxValue, Rule = "a GPIO line number")]
    public int Pin { get; set; } = -1;

    /// <summary>The state it shows: see <see cref="LedStates"/>.</summary>
    [OneOf(LedStates.Idle, LedStates.Busy, LedStates.Escalated, LedStates.Error)]
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
[OptionsValidator]
public sealed partial class GpioOptionsValidator : IValidateOptions<GpioOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<GpioOptions> Keyed { get; } = new KeyedValidator<GpioOptions>(GpioOptions.Section, new GpioOptionsValidator());
}
