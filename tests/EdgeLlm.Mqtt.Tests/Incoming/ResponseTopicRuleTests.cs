using EdgeLlm.Mqtt.Incoming;

namespace EdgeLlm.Mqtt.Tests.Incoming;

public sealed class ResponseTopicRuleTests
{
    private static readonly MqttOptions Options = new() { TopicPrefix = "edgellm" };

    [Theory]
    [InlineData("edgellm/node/pi-07/cmd", "control topic")]
    [InlineData("edgellm/node/gw-1/status", "control topic")]
    [InlineData("edgellm/node/pi-07/cancel", "control topic")]
    [InlineData("edgellm/node/pi-07/ask", "control topic")]
    [InlineData("edgellm/tier/1/ask", "control topic")]
    [InlineData("edgellm/tier/0/cancel", "control topic")]
    [InlineData("edgellm/ask/bay3", "control topic")]
    [InlineData("$SYS/broker/clients", "$-topics")]
    [InlineData("$share/g/panel/answers", "$-topics")]
    [InlineData("panel/+/answers", "not a topic name")]
    [InlineData("panel/#", "not a topic name")]
    public void WhyNot_AControlTopic_SaysWhy(string topic, string why)
    {
        Assert.Contains(why, ResponseTopicRule.WhyNot(topic, Options), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("edgellm/reply/edgellm-ask-1f2e")]
    [InlineData("edgellm/node/pi-07/upstream")]
    [InlineData("panel-7/answers")]
    [InlineData("edgellm/node/pi-07/button/17")]
    [InlineData("edgellmx/tier/1/ask")]
    public void WhyNot_ARequestersOwnTopic_IsNull(string topic)
    {
        Assert.Null(ResponseTopicRule.WhyNot(topic, Options));
    }

    [Fact]
    public void WhyNot_TheNodesOwnRequestFilter_IsAControlTopic()
    {
        var options = new MqttOptions { TopicPrefix = "edgellm", RequestTopic = "$share/devices/site-4/sensors/#" };

        Assert.Contains("site-4/sensors/#", ResponseTopicRule.WhyNot("site-4/sensors/t1/reply", options), StringComparison.Ordinal);
        Assert.Null(ResponseTopicRule.WhyNot("edgellm/ask/bay3", options));
    }
}
