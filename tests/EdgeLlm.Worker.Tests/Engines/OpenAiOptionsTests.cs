using EdgeLlm.Core.Catalog;
using EdgeLlm.Worker.Engines.OpenAiCompatible;

namespace EdgeLlm.Worker.Tests.Engines;

public sealed class OpenAiOptionsTests
{
    [Fact]
    public void EveryBadValueIsNamedByItsKey()
    {
        var options = new OpenAiOptions { Endpoint = "ftp://gateway/v1", Quality = 1.5, TimeoutMs = 0, ApiKeyFile = "/nonexistent/key" };

        var result = OpenAiOptionsValidator.Keyed.Validate(null, options);

        Assert.Equal(
            [
                "Models:OpenAi:Endpoint must be an http(s) address, not 'ftp://gateway/v1'",
                "Models:OpenAi:ApiKeyFile: no such file '/nonexistent/key'",
                "Models:OpenAi:Quality must be from 0 to 1, not 1.5",
                "Models:OpenAi:TimeoutMs must be from 1 to 3600000, not 0",
                "Models:OpenAi:Endpoint needs Models:OpenAi:Model",
            ],
            result.Failures);
    }

    [Fact]
    public void Describe_WithoutDomains_CoversEveryDomain_AtTheConfiguredQuality()
    {
        var model = new OpenAiOptions { Endpoint = "http://dc:8000/v1", Model = "llama-70b", Quality = 0.9, ThirdParty = true }.Describe(tier: 2);

        Assert.Equal(("llama-70b", 2, ModelFormats.OpenAi, true), (model.Id, model.Tier, model.Format, model.ThirdParty));
        Assert.Equal(0.9, model.QualityFor("machining", null));
    }

    [Fact]
    public void Describe_WithDomains_CoversThoseAlone()
    {
        var model = new OpenAiOptions { Endpoint = "http://dc:8000/v1", Model = "medic", Quality = 0.7, Domains = ["medical", "medical"] }.Describe(tier: 1);

        Assert.Equal(0.7, model.QualityFor("medical", null));
        Assert.Null(model.QualityFor("stories", null));
    }
}
