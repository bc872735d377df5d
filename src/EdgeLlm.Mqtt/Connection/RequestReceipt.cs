using MQTTnet;
using MQTTnet.Exceptions;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// A request as the broker handed it over (QoS 1), acknowledged (PUBACK) only once its final reply is with the
/// broker: a node killed before that leaves the request with the broker, which sends it again (DUP) when the
/// node's session is back. Acknowledged once, and not at all when the connection it came by is gone: the broker
/// then sends it again on the new one, where its packet id may already name another message.
/// </summary>
internal sealed class RequestReceipt(MqttApplicationMessageReceivedEventArgs received, MqttConnection connection)
{
    private readonly int _generation = connection.Generation;
    private int _acknowledged;

    public async Task AcknowledgeAsync()
    {
        if (Interlocked.Exchange(ref _acknowledged, 1) != 0 || connection.Generation != _generation)
        {
            return;
        }

        try
        {
            await received.AcknowledgeAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MqttCommunicationException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection went while the PUBACK was on its way: the broker sends the request again.
        }
    }
}
