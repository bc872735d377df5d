using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Mqtt.Connection;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>The node's own topics under {prefix}/node/{nodeId}/, and replies published there (QoS 1, as answers).</summary>
internal sealed class MqttNodeTopics(IOptions<MqttOptions> options, IOptions<NodeOptions> node, MqttConnection connection) : INodeTopics
{
    public string NodeTopic(string relative) => $"{options.Value.TopicPrefix}/node/{node.Value.Id}/{relative}";

    public IReplyTarget PublishTo(string topic, RequestFormat format) => new MqttReplyTarget(connection, topic, correlationData: null, format);
}
