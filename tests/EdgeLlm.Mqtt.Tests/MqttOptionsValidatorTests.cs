using EdgeLlm.Mqtt.Connection;

namespace EdgeLlm.Mqtt.Tests;

public sealed class MqttOptionsValidatorTests
{
    [Fact]
    public void Defaults_AreValidAndUseTheEmbeddedBroker()
    {
        var options = new MqttOptions();

        Assert.True(MqttOptionsValidator.Keyed.Validate(null, options).Succeeded);
        Assert.Equal("edgellm/ask/#", options.EffectiveRequestTopic);
        Assert.Equal(("127.0.0.1", 1883), BrokerEndpoint.Of(options));
    }

    [Theory]
    [InlineData("broker.plant.local:1883", "broker.plant.local", 1883)]
    [InlineData("10.0.0.5:8883", "10.0.0.5", 8883)]
    [InlineData("[fd00::5]:1883", "fd00::5", 1883)]
    public void Server_HostAndPort_AreParsed(string server, string host, int port)
    {
        var options = new MqttOptions { Server = server };

        Assert.True(MqttOptionsValidator.Keyed.Validate(null, options).Succeeded);
        Assert.Equal((host, port), BrokerEndpoint.Of(options));
    }

    [Fact]
    public void TopicPrefix_MovesTheDefaultFilterAndStatus()
    {
        var options = new MqttOptions { TopicPrefix = "plant1/llm" };

        Assert.Equal("plant1/llm/ask/#", options.EffectiveRequestTopic);
        Assert.Equal("plant1/llm/node/pi-07/status", options.StatusTopic("pi-07"));
    }

    [Fact]
    public void EmbeddedBrokerOnEveryAddress_IsReachedOnLoopback()
    {
        Assert.Equal(("127.0.0.1", 1884), BrokerEndpoint.Of(new MqttOptions { EmbeddedAddress = "0.0.0.0", EmbeddedPort = 1884 }));
    }

    [Fact]
    public void TlsFilesWithoutTls_AndPasswordWithoutUser_AreRefused()
    {
        string file = Path.GetTempFileName();
        try
        {
            var result = MqttOptionsValidator.Keyed.Validate(null, new MqttOptions { CaFile = file, PasswordFile = file });

            Assert.Contains("Mqtt:CaFile and Mqtt:ClientCertFile need Mqtt:UseTls true", result.Failures!);
            Assert.Contains("Mqtt:PasswordFile needs Mqtt:Username", result.Failures!);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void TrustingTheBrokerAclWithoutAFleetBroker_IsRefused()
    {
        var embedded = MqttOptionsValidator.Keyed.Validate(null, new MqttOptions { Commands = new CommandOptions { TrustBrokerAcl = true } });
        var fleet = MqttOptionsValidator.Keyed.Validate(null, new MqttOptions { Server = "broker:1883", Commands = new CommandOptions { TrustBrokerAcl = true } });

        Assert.Contains(embedded.Failures!, f => f.StartsWith("Mqtt:Commands:TrustBrokerAcl needs a fleet broker", StringComparison.Ordinal));
        Assert.True(fleet.Succeeded);
    }
}
