using MQTTnet;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The broker answered a SUBSCRIBE with a failure (MQTT 5 §3.9.3): nothing would arrive on the filter. An
/// IOException, so that the command line reports it on one line as the failure it is.
/// </summary>
internal sealed class SubscriptionRefusedException(string filter, MqttClientSubscribeResultCode reason)
    : IOException($"the broker refused the subscription to {filter}: {reason}")
{
    public string Filter { get; } = filter;

    public MqttClientSubscribeResultCode Reason { get; } = reason;

    /// <summary>Granted at some QoS (0, 1 or 2): every code above those is a refusal.</summary>
    public static bool IsGranted(MqttClientSubscribeResultCode code) => code <= MqttClientSubscribeResultCode.GrantedQoS2;
}
