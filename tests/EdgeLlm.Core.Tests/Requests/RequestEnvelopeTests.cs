using System.Buffers;
using System.Text;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Tests.Requests;

public sealed class RequestEnvelopeTests
{
    [Fact]
    public void Write_ThenParse_GivesTheSameRequest()
    {
        var request = new Request
        {
            Format = RequestFormat.Envelope, Id = "r-1", Prompt = "Is 38.5 \"a fever\"? é", System = "Be brief", Domain = "medical", Subdomain = "pediatrics",
            MaxTokens = 64, Temperature = 0.7f, MaxLatencyMs = 5000, MinQuality = 0.5, MaxCost = 0.25, Privacy = Privacy.Fleet,
        };

        Assert.Equal(request, Parse(RequestEnvelope.Write(request)).Request);
    }

    [Fact]
    public void Write_LeavesUnsetFieldsOut_ButAlwaysSaysThePrivacy()
    {
        string json = Encoding.UTF8.GetString(RequestEnvelope.Write(new Request { Prompt = "é < 3", Temperature = 0.7f }));

        Assert.Equal("""{"prompt":"é < 3","temperature":0.7,"privacy":"any"}""", json);
    }

    [Theory]
    [InlineData("""{"id": "r-2", "prompt": "hi", "maxTokens": "12"}""", "maxTokens must be a whole number from 1 to 65536")]
    [InlineData("""{"id": "r-2", "prompt": ["hi"]}""", "prompt must be a string")]
    [InlineData("""{"id": "r-2", "prompt": "hi", "temperature": {"value": 1}}""", "temperature must be a number from 0 to 2")]
    public void Parse_AFieldOfTheWrongKind_NamesIt_AndKeepsTheId(string payload, string problem)
    {
        var failure = Parse(Encoding.UTF8.GetBytes(payload)).Failure;

        Assert.Equal(("r-2", ErrorCode.BadRequest, problem), (failure?.RequestId, failure?.Code, failure?.Message));
    }

    [Theory]
    [InlineData("""{"id": 7, "prompt": "hi"}""", "id must be a string")]
    [InlineData("""{"id": "r-3", "prompt": "hi", "maxTokens": 1e12}""", "maxTokens must be a whole number from 1 to 65536")]
    [InlineData("""{"prompt": "hi", "maxTokens": 99999999999999999999}""", "maxTokens must be a whole number from 1 to 65536")]
    public void Parse_NumbersOutOfEveryRange_AreFaultsOfTheField(string payload, string problem)
    {
        Assert.Equal(problem, Parse(Encoding.UTF8.GetBytes(payload)).Failure?.Message);
    }

    [Fact]
    public void Parse_NestingDeeperThanSixteen_IsNotValidJson()
    {
        string deep = $$"""{"prompt": "hi", "x": {{new string('[', 20)}}{{new string(']', 20)}}}""";

        var failure = Parse(Encoding.UTF8.GetBytes(deep)).Failure;

        Assert.StartsWith("the payload is not valid JSON (", failure?.Message);
        Assert.Contains("depth", failure?.Message);
    }

    [Fact]
    public void Parse_BrokenJsonInsideAField_IsNotValidJson_RatherThanAWrongKind()
    {
        var failure = Parse("""{"prompt": "hi", "maxTokens": 12x}"""u8.ToArray()).Failure;

        Assert.StartsWith("the payload is not valid JSON (", failure?.Message);
    }

    private static ParsedRequest Parse(byte[] payload) => RequestParser.Parse(new ReadOnlySequence<byte>(payload), 8192);
}
