using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Tests.Replies;

public sealed class ReplyFormatterTests
{
    private static readonly Answer SampleAnswer = new("r-1", "It is \"fine\" ✓", "stop", "pi-07", 0, "stories260k-int8", new Route("local", ["fits-local"]), new Usage(5, 40), 812);

    [Fact]
    public void Format_AnswerToPlainText_IsTheText()
    {
        Assert.Equal("It is \"fine\" ✓", Encoding.UTF8.GetString(ReplyFormatter.Format(SampleAnswer, RequestFormat.PlainText)));
    }

    [Fact]
    public void Format_FailureToPlainText_ReadsErrorCodeMessage()
    {
        var failure = new Failure(null, ErrorCode.Busy, "the queue is full (16 requests waiting)");

        Assert.Equal("error: busy: the queue is full (16 requests waiting)", Encoding.UTF8.GetString(ReplyFormatter.Format(failure, RequestFormat.PlainText)));
    }

    [Fact]
    public void Format_AnswerEnvelope_HasDesignFields()
    {
        using var json = JsonDocument.Parse(ReplyFormatter.Format(SampleAnswer, RequestFormat.Envelope));
        var root = json.RootElement;

        Assert.Equal(
            ["id", "text", "finishReason", "node", "tier", "model", "route", "usage", "latencyMs"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("It is \"fine\" ✓", root.GetProperty("text").GetString());
        Assert.Equal(["fits-local"], root.GetProperty("route").GetProperty("reasons").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(40, root.GetProperty("usage").GetProperty("completionTokens").GetInt32());
        Assert.Equal(812, root.GetProperty("latencyMs").GetInt64());
    }

    [Theory]
    [InlineData(ErrorCode.BadRequest, "bad-request")]
    [InlineData(ErrorCode.TooLarge, "too-large")]
    [InlineData(ErrorCode.Busy, "busy")]
    [InlineData(ErrorCode.Timeout, "timeout")]
    [InlineData(ErrorCode.NoModel, "no-model")]
    [InlineData(ErrorCode.UpstreamUnavailable, "upstream-unavailable")]
    [InlineData(ErrorCode.RejectedPrivacy, "rejected-privacy")]
    [InlineData(ErrorCode.Internal, "internal")]
    public void Format_FailureEnvelope_CarriesTheWireCode(ErrorCode code, string wireName)
    {
        using var json = JsonDocument.Parse(ReplyFormatter.Format(new Failure("r-2", code, "why"), RequestFormat.Envelope));

        Assert.Equal("r-2", json.RootElement.GetProperty("id").GetString());
        Assert.Equal(wireName, json.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("why", json.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Format_ReplyWithoutId_WritesNull()
    {
        using var json = JsonDocument.Parse(ReplyFormatter.Format(new Failure(null, ErrorCode.Timeout, "late"), RequestFormat.Envelope));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("id").ValueKind);
    }
}
