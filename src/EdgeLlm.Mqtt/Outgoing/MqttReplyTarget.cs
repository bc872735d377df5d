using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Connection;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>
/// The route back to an MQTT requester (docs/design.md §3): its ResponseTopic with its CorrelationData, else the
/// topic it asked on. Every reply carries edgellm-type=answer, so that no node takes it for a request.
/// </summary>
internal sealed class MqttReplyTarget(MqttConnection connection, string topic, byte[]? correlationData, RequestFormat format) : IReplyTarget
{
    public const string TypeProperty = "edgellm-type";
    public const string AnswerType = "answer";
    public const string ErrorProperty = "edgellm-error";
    public static readonly ReadOnlyMemory<byte> AnswerTypeBytes = System.Text.Encoding.UTF8.GetBytes(AnswerType);

    /// <summary>Whether a message is a node's reply (edgellm-type=answer), never to be taken for a request.</summary>
    public static bool IsAnswer(MqttApplicationMessage message) =>
        message.UserProperties?.Exists(p => p.Name == TypeProperty && p.ValueBuffer.Span.SequenceEqual(AnswerTypeBytes.Span)) is true;

    public string Key { get; } = correlationData is { Length: > 0 } ? $"{topic}\n{Convert.ToHexString(correlationData)}" : topic;

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(ReplyFormatter.Format(reply, format))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithContentType(format == RequestFormat.Envelope ? "application/json" : "text/plain; charset=utf-8")
            .WithUserProperty(TypeProperty, AnswerTypeBytes);
        if (correlationData is { Length: > 0 })
        {
            builder.WithCorrelationData(correlationData);
        }

        if (reply.ErrorCode is ErrorCode code)
        {
            builder.WithUserProperty(ErrorProperty, System.Text.Encoding.UTF8.GetBytes(code.ToWireName()));
        }

        connection.Publish(builder.Build());
        return ValueTask.CompletedTask;
    }
}
