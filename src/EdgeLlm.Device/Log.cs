using Microsoft.Extensions.Logging;

namespace EdgeLlm.Device;

/// <summary>Every log message of EdgeLlm.Device, with its event id (40xx the GPIO chip, 41xx the buttons): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(4001, LogLevel.Information, "GPIO chip {Chip} opened: {Buttons} buttons, {Leds} lights")]
    public static partial void ChipOpened(ILogger logger, int chip, int buttons, int leds);

    [LoggerMessage(4002, LogLevel.Warning, "GPIO is configured but cannot be used, and Gpio:Optional is set, so the node runs without buttons and lights: {Problem}")]
    public static partial void GpioUnavailable(ILogger logger, string problem);

    [LoggerMessage(4101, LogLevel.Information, "Button {Pin} pressed: request {RequestId} \"{Prompt}\"")]
    public static partial void ButtonPressed(ILogger logger, int pin, string requestId, string prompt);

    [LoggerMessage(4102, LogLevel.Information, "Button {Pin} answered by {Model} (tier {Tier}), published to {Topic}: {Text}")]
    public static partial void ButtonAnswered(ILogger logger, int pin, string model, int tier, string text, string topic);

    [LoggerMessage(4103, LogLevel.Warning, "Button {Pin}: {Code}: {Message} (published to {Topic})")]
    public static partial void ButtonRefused(ILogger logger, int pin, string code, string message, string topic);

    [LoggerMessage(4104, LogLevel.Information, "Button {Pin}: an upper tier's reply, published to {Topic}")]
    public static partial void ButtonRelayed(ILogger logger, int pin, string topic);

    [LoggerMessage(4105, LogLevel.Error, "Button {Pin}: the press could not be taken")]
    public static partial void PressFailed(ILogger logger, Exception exception, int pin);
}
