using EdgeLlm.Core.Options;

namespace EdgeLlm.Core.Tests.Options;

public sealed class OptionsValidatorTests
{
    [Fact]
    public void Admission_Defaults_AreValid()
    {
        Assert.True(new AdmissionOptionsValidator().Validate(null, new AdmissionOptions()).Succeeded);
        Assert.True(new NodeOptionsValidator().Validate(null, new NodeOptions { Id = "pi-07.floor_2" }).Succeeded);
    }

    [Fact]
    public void Admission_EveryBadValue_IsNamedByItsKey()
    {
        var result = new AdmissionOptionsValidator().Validate(null, new AdmissionOptions { QueueCapacity = 0, MaxPromptBytes = 1 << 21, DefaultMaxTokens = 0, DuplicateWindowSeconds = 0, ShutdownGraceSeconds = -1 });

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
        var result = new NodeOptionsValidator().Validate(null, new NodeOptions { Id = id });

        Assert.StartsWith("Node:Id must be up to 64 letters", Assert.Single(result.Failures!));
    }

    [Fact]
    public void Upstream_DefaultsAreValid_AndEveryBadValueIsNamedByItsKey()
    {
        Assert.True(new UpstreamOptionsValidator().Validate(null, new UpstreamOptions()).Succeeded);

        var result = new UpstreamOptionsValidator().Validate(null, new UpstreamOptions { Tier = 10, TimeoutMs = 0, Fallback = "retry", MaxHops = 0, MaxInFlight = 0 });

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
    public void OpenAi_EveryBadValueIsNamedByItsKey()
    {
        var options = new ModelsOptions
        {
            Local = "/var/lib/edgellm/models/tiny",
            OpenAi = new OpenAiOptions { Endpoint = "ftp://gateway/v1", Quality = 1.5, TimeoutMs = 0, ApiKeyFile = "/nonexistent/key" },
        };

        var result = new ModelsOptionsValidator().Validate(null, options);

        Assert.Equal(
            [
                "Models:OpenAi:Endpoint must be an http(s) address, not 'ftp://gateway/v1'",
                "Models:OpenAi:Endpoint needs Models:OpenAi:Model",
                "Models:Local and Models:OpenAi:Endpoint exclude each other: a node serves one model",
                "Models:OpenAi:Quality must be from 0 to 1, not 1.5",
                "Models:OpenAi:TimeoutMs must be from 1 to 3600000, not 0",
                "Models:OpenAi:ApiKeyFile: no such file '/nonexistent/key'",
            ],
            result.Failures);
    }

    [Fact]
    public void Store_EveryBadValueIsNamedByItsKey()
    {
        var options = new ModelsOptions { StorePath = "models", DiskBudgetMb = -1, IdleUnloadMinutes = 20_000, OnDemand = "sometimes", Pinned = ["stories260k-int4", " "] };

        var result = new ModelsOptionsValidator().Validate(null, options);

        Assert.Equal(
            [
                "Models:DiskBudgetMb must be from 0 to 2147483647, not -1",
                "Models:IdleUnloadMinutes must be from 0 to 10080, not 20000",
                "Models:StorePath must be an absolute path, not 'models'",
                "Models:OnDemand must be one of auto, background, off, not 'sometimes'",
                "Models:Pinned must list model ids, not empty strings",
            ],
            result.Failures);
    }

    [Fact]
    public void Store_TheDefaultsAreValid() =>
        Assert.True(new ModelsOptionsValidator().Validate(null, new ModelsOptions()).Succeeded);
}
