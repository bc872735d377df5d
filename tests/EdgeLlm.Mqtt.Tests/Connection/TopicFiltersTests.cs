using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Mqtt.Outgoing;

namespace EdgeLlm.Mqtt.Tests.Connection;

public sealed class TopicFiltersTests
{
    [Theory]
    [InlineData("edgellm/ask/#", true)]
    [InlineData("edgellm/+/ask", true)]
    [InlineData("edgellm/pi-07/ask/#", true)]
    [InlineData("$share/edgellm-tier1/edgellm/tier/1/ask", true)]
    [InlineData("#", true)]
    [InlineData("edgellm/#/ask", false)]
    [InlineData("edgellm/ask#", false)]
    [InlineData("edgellm/a+/ask", false)]
    [InlineData("$share//edgellm/ask", false)]
    [InlineData("$share/group+/edgellm/ask", false)]
    [InlineData("$share/group/", false)]
    [InlineData("", false)]
    public void IsValidFilter_FollowsMqttRules(string filter, bool valid)
    {
        Assert.Equal(valid, TopicFilters.IsValidFilter(filter));
    }

    [Theory]
    [InlineData("$share/edgellm-tier1/edgellm/ask/#", true)]
    [InlineData("edgellm/ask/#", false)]
    [InlineData("share/edgellm/ask", false)]
    public void IsShared_RecognisesSharedSubscriptions(string filter, bool shared)
    {
        Assert.Equal(shared, TopicFilters.IsShared(filter));
    }

    [Theory]
    [InlineData("edgellm/ask/#", "edgellm/ask", true)]
    [InlineData("edgellm/ask/#", "edgellm/ask/bay3/temp", true)]
    [InlineData("edgellm/node/+/status", "edgellm/node/pi-07/status", true)]
    [InlineData("edgellm/node/+/status", "edgellm/node/pi-07/upstream", false)]
    [InlineData("edgellm/node/+/status", "edgellm/node/status", false)]
    [InlineData("$share/edgellm-tier1/edgellm/tier/1/ask", "edgellm/tier/1/ask", true)]
    [InlineData("$share/edgellm-tier1/edgellm/tier/1/ask", "edgellm/tier/2/ask", false)]
    [InlineData("edgellm/tier/1/ask", "edgellm/tier/1/ask/more", false)]
    [InlineData("#", "$SYS/broker/uptime", false)]
    [InlineData("+/broker/uptime", "$SYS/broker/uptime", false)]
    [InlineData("$SYS/#", "$SYS/broker/uptime", true)]
    public void Matches_FollowsMqttRules(string filter, string topic, bool matches)
    {
        Assert.Equal(matches, TopicFilters.Matches(filter, topic));
    }
}
