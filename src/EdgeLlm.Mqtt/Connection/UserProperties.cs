using MQTTnet;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>Reading EdgeLlm's MQTT 5 user properties (edgellm-error, edgellm-path, the command sender) off a message.</summary>
internal static class UserProperties
{
    /// <summary>The first property of that name, as UTF-8 text; null when the message has none.</summary>
    public static string? Get(MqttApplicationMessage message, string name) =>
        message.UserProperties?.Find(p => p.Name == name)?.ValueBuffer is { } value ? System.Text.Encoding.UTF8.GetString(value.Span) : null;
}
