using System.Text;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt;

/// <summary>An answer as a requester receives it.</summary>
/// <param name="ErrorCode">The edgellm-error property: null for an answer.</param>
public sealed record AskReply(string Payload, string? ErrorCode);

/// <summary>
/// A requester, for `edgellm ask`: publishes one request with a response topic and correlation data (MQTT 5)
/// and waits for its answer, passing on the text of a streamed answer's chunks as they come.
/// </summary>
public static class MqttAskClient
{
    /// <param name="onDelta">Each chunk's text, in order (the chunks of a streamed request, docs/design.md §3a).</param>
    public static async Task<AskReply> AskAsync(string server, string topic, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken, Action<string>? onDelta = null)
    {
        var (host, port) = BrokerEndpoint.Parse(server);
        string clientId = $"edgellm-ask-{Guid.NewGuid():N}";
        // Answers come back outside the request tree, on a topic only this requester listens to.
        string replyTopic = $"{topic.Split('/')[0]}/reply/{clientId}";
        byte[] correlation = Guid.NewGuid().ToByteArray();
        var answer = new TaskCompletionSource<AskReply>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            var message = e.ApplicationMessage;
            if (message.CorrelationData is not { } data || !data.AsSpan().SequenceEqual(correlation))
            {
                return Task.CompletedTask;
            }

            if (!MqttReplyTarget.IsChunk(message))
            {
                answer.TrySetResult(new AskReply(Encoding.UTF8.GetString(message.Payload), UserProperties.Get(message, MqttReplyTarget.ErrorProperty)));
            }
            else if (onDelta is not null && ChunkReader.Read(System.Buffers.BuffersExtensions.ToArray(message.Payload)).Chunk?.Delta is { Length: > 0 } delta)
            {
                onDelta(delta);
            }

            return Task.CompletedTask;
        };

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithClientId(clientId).Build(), deadline.Token).ConfigureAwait(false);
            var subscribed = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(replyTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build(), deadline.Token).ConfigureAwait(false);
            if (subscribed.Items.Single().ResultCode is var code && !SubscriptionRefusedException.IsGranted(code))
            {
                // The answer could never arrive: say why now rather than time out.
                throw new SubscriptionRefusedException(replyTopic, code);
            }

            var request = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithResponseTopic(replyTopic)
                .WithCorrelationData(correlation)
                // A node that gets the request after the requester gave up need not run it.
                .WithMessageExpiryInterval((uint)Math.Ceiling(timeout.TotalSeconds))
                .Build();
            await client.PublishAsync(request, deadline.Token).ConfigureAwait(false);
            var reply = await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
            return reply;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer from {server} on {topic} within {timeout.TotalSeconds:F0} s");
        }
    }
}
