using EdgeLlm.Core.Options;

namespace EdgeLlm.Core.Tests.Options;

public sealed class OptionsValidatorTests
{
    [Fact]
    public void Admission_Defaults_AreValid()
    {
        Assert.True(AdmissionOptionsValidator.Keyed.Validate(null, new AdmissionOptions()).Succeeded);
        Assert.True(NodeOptionsValidator.Keyed.Validate(null, new NodeOptions { Id = "pi-07.floor_2" }).Succeeded);
    }

    [Fact]
    public void Admission_EveryBadValue_IsNamedByItsKey()
    {
        var result = AdmissionOptionsValidator.Keyed.Validate(null, new AdmissionOptions { QueueCapacity = 0, MaxPromptBytes = 1 << 21, DefaultMaxTokens = 0, DuplicateWindowSeconds = 0, ShutdownGraceSeconds = -1 });

        Assert.Equal(
            [
                "Admission:QueueCapacity must be from 1 to 1024, not 0",
                "Admission:MaxPromptBytes must be from 64 to 1048576, not 2097152",
                "Admission:DefaultMaxTokens must be from 1 to 65536, not 0",
                "Admission:DuplicateWindowSeconds must be from 1 to 86400, not 0",
                "Admission:ShutdownGraceSeconds must be from 0 to 600, not -1",
            ],
            result.Failures);
    }

    [Theory]
    [InlineData("pi/07")]
    [InlineData("pi 07")]
    [InlineData("pi+")]
    [InlineData("a-very-long-node-identifier-that-goes-on-and-on-well-past-the-limit-of-64")]
    public void Node_IdThatCannotBeATopicLevel_IsRefused(string id)
    {
        var result = NodeOptionsValidator.Keyed.Validate(null, new NodeOptions { Id = id });

        Assert.StartsWith("Node:Id must be up to 64 letters", Assert.Single(result.Failures!));
    }

    [Fact]
    public void Upstream_DefaultsAreValid_AndEveryBadValueIsNamedByItsKey()
    {
        Assert.True(UpstreamOptionsValidator.Keyed.Validate(null, new UpstreamOptions()).Succeeded);

        var result = UpstreamOptionsValidator.Keyed.Validate(null, new UpstreamOptions { Tier = 10, TimeoutMs = 0, Fallback = "retry", MaxHops = 0, MaxInFlight = 0 });

        Assert.Equal(
            [
                "Upstream:Tier must be from 0 to 9, not 10",
                "Upstream:TimeoutMs must be from 1 to 3600000, not 0",
                "Upstream:Fallback must be \"degraded-local\" or \"error\", not 'retry'",
                "Upstream:MaxHops must be from 1 to 16, not 0",
                "Upstream:MaxInFlight must be from 1 to 4096, not 0",
            ],
            result.Failures);
    }

    [Fact]
    public void Models_EveryBadValueIsNamedByItsKey()
    {
        var result = ModelsOptionsValidator.Keyed.Validate(null, new ModelsOptions { CatalogPath = "/nonexistent/catalog.json", MemoryReserveMb = -1, OnDemand = "sometimes" });

        Assert.Equal(
            [
                "Models:CatalogPath: no such file '/nonexistent/catalog.json'",
                "Models:MemoryReserveMb must be from 0 to 1048576, not -1",
                "Models:OnDemand must be one of auto, background, off, not 'sometimes'",
            ],
            result.Failures);
    }

    [Fact]
    public void Models_TheDefaultsAreValid() =>
        Assert.True(ModelsOptionsValidator.Keyed.Validate(null, new ModelsOptions()).Succeeded);

    [Fact]
    public void Routing_ABadLimitIsNamedByItsKey()
    {
        var result = RoutingOptionsValidator.Keyed.Validate(null, new RoutingOptions { ThermalLimitCelsius = 0, MinBatteryPercent = 101 });

        Assert.Equal(["Routing:ThermalLimitCelsius must be above 0 and at most 150, not 0", "Routing:MinBatteryPercent must be from 0 to 100, not 101"], result.Failures);
    }
}
