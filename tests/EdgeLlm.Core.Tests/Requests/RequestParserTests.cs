using System.Buffers;
using System.Text;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Tests.Requests;

public sealed class RequestParserTests
{
    [Fact]
    public void Parse_PlainText_IsAPromptWithDefaults()
    {
        var parsed = Parse("What is the temperature in bay 3?");

        Assert.Equal(RequestFormat.PlainText, parsed.Format);
        Assert.Equal(new Request { Prompt = "What is the temperature in bay 3?", Format = RequestFormat.PlainText }, parsed.Request);
    }

    [Fact]
    public void Parse_Envelope_ReadsEveryField()
    {
        var parsed = Parse("""
            { "id": "r-1", "prompt": "Is 38.5 a fever?", "system": "Be brief", "domain": "medical", "subdomain": "pediatrics",
              "maxTokens": 64, "temperature": 0.7, "maxLatencyMs": 5000, "minQuality": 0.5, "maxCost": null, "privacy": "fleet" }
            """);

        Assert.Equal(new Request
        {
            Format = RequestFormat.Envelope, Id = "r-1", Prompt = "Is 38.5 a fever?", System = "Be brief", Domain = "medical", Subdomain = "pediatrics",
            MaxTokens = 64, Temperature = 0.7f, MaxLatencyMs = 5000, MinQuality = 0.5, MaxCost = null, Privacy = Privacy.Fleet,
        }, parsed.Request);
    }

    [Fact]
    public void Parse_EnvelopeWithUnknownFields_IgnoresThem()
    {
        var parsed = Parse("""{ "prompt": "hi", "colour": "blue", "nested": { "deep": [1, 2, 3] } }""");

        Assert.Equal("hi", parsed.Request?.Prompt);
    }

    [Theory]
    [InlineData("""{"prompt": "hi""", "not valid JSON")]
    [InlineData("""[1, 2, 3]""", "must be an object (an envelope), not an array")]
    [InlineData("""{"id": "x"}""", "prompt is missing")]
    [InlineData("""{"prompt": null}""", "prompt is missing")]
    [InlineData("""{"prompt": ""}""", "prompt is empty")]
    [InlineData("""{"prompt": 5}""", "prompt must be a string")]
    [InlineData("""{"prompt": "hi", "maxTokens": -1}""", "maxTokens must be a whole number from 1 to 65536")]
    [InlineData("""{"prompt": "hi", "maxTokens": 2.5}""", "maxTokens must be a whole number from 1 to 65536")]
    [InlineData("""{"prompt": "hi", "maxTokens": "12"}""", "maxTokens must be a whole number from 1 to 65536")]
    [InlineData("""{"prompt": "hi", "temperature": 3}""", "temperature must be a number from 0 to 2")]
    [InlineData("""{"prompt": "hi", "maxLatencyMs": 0}""", "maxLatencyMs must be a whole number from 1 to")]
    [InlineData("""{"prompt": "hi", "minQuality": 1.5}""", "minQuality must be a number from 0 to 1")]
    [InlineData("""{"prompt": "hi", "maxCost": -0.01}""", "maxCost must be a number of at least 0")]
    [InlineData("""{"prompt": "hi", "privacy": "public"}""", "privacy must be \"any\", \"fleet\" or \"local\", not \"public\"")]
    [InlineData("""{"prompt": "hi", "domain": 7}""", "domain must be a string")]
    public void Parse_BadEnvelope_IsABadRequestNamingTheProblem(string payload, string problem)
    {
        var parsed = Parse(payload);

        Assert.Null(parsed.Request);
        Assert.Equal(RequestFormat.Envelope, parsed.Format);
        Assert.Equal(ErrorCode.BadRequest, parsed.Failure?.Code);
        Assert.Contains(problem, parsed.Failure?.Message);
    }

    [Fact]
    public void Parse_BadEnvelopeWithAnId_EchoesTheId()
    {
        var parsed = Parse("""{"id": "r-9", "prompt": "hi", "maxTokens": 0}""");

        Assert.Equal("r-9", parsed.Failure?.RequestId);
    }

    [Fact]
    public void Parse_IdLongerThan128_IsRefused()
    {
        var parsed = Parse($$"""{"id": "{{new string('i', 129)}}", "prompt": "hi"}""");

        Assert.Equal(ErrorCode.BadRequest, parsed.Failure?.Code);
        Assert.Contains("id is longer than 128 characters", parsed.Failure?.Message);
        Assert.Null(parsed.Failure?.RequestId);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 }, RequestFormat.PlainText)]
    [InlineData(new byte[] { (byte)'{', 0xFF, (byte)'}' }, RequestFormat.Envelope)]
    public void Parse_InvalidUtf8_IsABadRequest(byte[] payload, RequestFormat format)
    {
        var parsed = RequestParser.Parse(new ReadOnlySequence<byte>(payload), 1024);

        Assert.Equal((format, ErrorCode.BadRequest, "the payload is not valid UTF-8"), (parsed.Format, parsed.Failure?.Code, parsed.Failure?.Message));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n\t ")]
    public void Parse_EmptyPlainText_IsABadRequest(string payload)
    {
        Assert.Equal(ErrorCode.BadRequest, Parse(payload).Failure?.Code);
    }

    [Fact]
    public void Parse_PromptOverTheLimit_IsTooLarge()
    {
        var plain = Parse(new string('a', 101), maxPromptBytes: 100);
        var envelope = Parse($$"""{"prompt": "{{new string('é', 51)}}"}""", maxPromptBytes: 100);
        var withSystem = Parse($$"""{"prompt": "{{new string('a', 60)}}", "system": "{{new string('b', 41)}}"}""", maxPromptBytes: 100);

        Assert.Equal(ErrorCode.TooLarge, plain.Failure?.Code);
        Assert.Equal("the prompt's 101 bytes exceed the limit of 100", plain.Failure?.Message);
        Assert.Equal("the prompt's 102 bytes exceed the limit of 100", envelope.Failure?.Message);
        Assert.Equal(ErrorCode.TooLarge, withSystem.Failure?.Code);
        Assert.NotNull(Parse(new string('a', 100), maxPromptBytes: 100).Request);
    }

    [Fact]
    public void Parse_MegabytePayload_IsTooLargeWithoutBeingRead()
    {
        byte[] payload = [.. "{\"prompt\": \""u8, .. Enumerable.Repeat((byte)'a', 1 << 20), .. "\"}"u8];

        var parsed = RequestParser.Parse(new ReadOnlySequence<byte>(payload), 8192);

        Assert.Equal((RequestFormat.Envelope, ErrorCode.TooLarge), (parsed.Format, parsed.Failure?.Code));
        Assert.Contains($"the payload's {payload.Length} bytes exceed the limit of 8192", parsed.Failure?.Message);
    }

    [Fact]
    public void Parse_JsonScalar_IsPlainText()
    {
        // Only objects (and what opens like one) are envelopes; a sensor may well send a bare number.
        Assert.Equal(new Request { Prompt = "42.5", Format = RequestFormat.PlainText }, Parse("42.5").Request);
    }

    private static ParsedRequest Parse(string payload, int maxPromptBytes = 8192) =>
        RequestParser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(payload)), maxPromptBytes);
}
