using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Connection;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>
/// The route back to an MQTT requester (docs/design.md §3): its ResponseTopic with its CorrelationData, else the
/// topic it asked on. Every reply carries edgellm-type=answer, and every chunk of a streamed answer
/// edgellm-type=chunk (docs/design.md §3a), so that no node takes either for a request.
/// </summary>
internal sealed class MqttReplyTarget(MqttConnection connection, string topic, byte[]? correlationData, RequestFormat format) : IReplyTarget
{
    public const string TypeProperty = "edgellm-type";
    public const string AnswerType = "answer";
    public const string ChunkType = "chunk";
    public const string ErrorProperty = "edgellm-error";
    public static readonly ReadOnlyMemory<byte> AnswerTypeBytes = System.Text.Encoding.UTF8.GetBytes(AnswerType);
    public static readonly ReadOnlyMemory<byte> ChunkTypeBytes = System.Text.Encoding.UTF8.GetBytes(ChunkType);

    /// <summary>Whether a message is a node's reply or a chunk of one (edgellm-type answer or chunk), never to be taken for a request.</summary>
    public static bool IsReply(MqttApplicationMessage message) => IsAnswer(message) || IsChunk(message);

    /// <summary>Whether a message is a chunk of a streamed answer (edgellm-type=chunk).</summary>
    public static bool IsChunk(MqttApplicationMessage message) => HasType(message, ChunkTypeBytes);

    private static bool IsAnswer(MqttApplicationMessage message) => HasType(message, AnswerTypeBytes);

    private static bool HasType(MqttApplicationMessage message, ReadOnlyMemory<byte> type) =>
        message.UserProperties?.Exists(p => p.Name == TypeProperty && p.ValueBuffer.Span.SequenceEqual(type.Span)) is true;

    public string Key { get; } = correlationData is { Length: > 0 } ? $"{topic}\n{Convert.ToHexString(correlationData)}" : topic;

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
    {
        var builder = Message(ReplyFormatter.Format(reply, format), format == RequestFormat.Envelope ? "application/json" : "text/plain; charset=utf-8", AnswerTypeBytes);
        if (reply.ErrorCode is ErrorCode code)
        {
            builder.WithUserProperty(ErrorProperty, System.Text.Encoding.UTF8.GetBytes(code.ToWireName()));
        }

        connection.Publish(builder.Build());
        return ValueTask.CompletedTask;
    }

    // QoS 1 like the answer, so that the chunks and the answer keep their order and the broker's PUBACK says
    // whether anyone still subscribes to the reply topic. A plain-text requester gets no chunks.
    public Task<bool> SendChunkAsync(Chunk chunk) => format == RequestFormat.Envelope
        ? connection.PublishToSubscribersAsync(Message(ReplyFormatter.Format(chunk), "application/json", ChunkTypeBytes).Build())
        : Task.FromResult(true);

    private MqttApplicationMessageBuilder Message(byte[] payload, string contentType, ReadOnlyMemory<byte> type)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithContentType(contentType)
            .WithUserProperty(TypeProperty, type);
        if (correlationData is { Length: > 0 })
        {
            builder.WithCorrelationData(correlationData);
        }

        return builder;
    }
}
