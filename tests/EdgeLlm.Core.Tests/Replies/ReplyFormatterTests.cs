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

    [Fact]
    public void Format_RelayedAnswerEnvelope_IsTheUpstreamsUnderTheRequestersIdWithBothRoutes()
    {
        var upstream = ReplyFormatter.Format(SampleAnswer with { RequestId = "pi-07-1f2e", Node = "gw-1", Tier = 1, Model = "llama-8b" }, RequestFormat.Envelope);
        var relayed = new Relayed("r-1", upstream, null, new Route("escalated", ["domain"], Degraded: false));

        using var json = JsonDocument.Parse(ReplyFormatter.Format(relayed, RequestFormat.Envelope));
        var root = json.RootElement;

        Assert.Equal(["id", "text", "finishReason", "node", "tier", "model", "usage", "latencyMs", "route"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("r-1", "gw-1", 1, "llama-8b"), (root.GetProperty("id").GetString(), root.GetProperty("node").GetString(), root.GetProperty("tier").GetInt32(), root.GetProperty("model").GetString()));
        var route = root.GetProperty("route");
        Assert.Equal(("escalated", "domain"), (route.GetProperty("decision").GetString(), route.GetProperty("reasons")[0].GetString()));
        Assert.Equal(("local", "fits-local"), (route.GetProperty("upstream").GetProperty("decision").GetString(), route.GetProperty("upstream").GetProperty("reasons")[0].GetString()));
    }

    [Fact]
    public void Format_RelayedError_KeepsTheUpstreamsErrorAsItCame()
    {
        var upstream = ReplyFormatter.Format(new Failure("pi-07-1f2e", ErrorCode.Busy, "the queue is full"), RequestFormat.Envelope);
        var relayed = new Relayed(null, upstream, ErrorCode.Busy, new Route("escalated", ["memory"]));

        Assert.Equal("""{"id":null,"error":{"code":"busy","message":"the queue is full"}}""", Encoding.UTF8.GetString(ReplyFormatter.Format(relayed, RequestFormat.Envelope)));
        Assert.Equal("error: busy: the queue is full", Encoding.UTF8.GetString(ReplyFormatter.Format(relayed, RequestFormat.PlainText)));
    }

    [Fact]
    public void Format_RelayedAnswerToPlainText_IsTheText()
    {
        var upstream = ReplyFormatter.Format(SampleAnswer, RequestFormat.Envelope);

        Assert.Equal("It is \"fine\" ✓", Encoding.UTF8.GetString(ReplyFormatter.Format(new Relayed(null, upstream, null, new Route("escalated", [])), RequestFormat.PlainText)));
    }

    [Fact]
    public void Format_Chunks_AreTextOrHeartbeat_AndTheFirstNamesTheNode()
    {
        Assert.Equal("""{"id":"r-1","seq":0,"node":"pi-07","delta":"Once"}""", Encoding.UTF8.GetString(ReplyFormatter.Format(new Chunk("r-1", 0, "pi-07", "Once", null))));
        Assert.Equal("""{"id":"r-1","seq":3,"state":"prefill","progress":0.667}""", Encoding.UTF8.GetString(ReplyFormatter.Format(new Chunk("r-1", 3, null, null, 2.0 / 3))));
    }

    [Fact]
    public void Format_AStreamedAnswerInAConversation_SaysItsChunksTurnAndCachedTokens()
    {
        var answer = SampleAnswer with { Usage = new Usage(50, 40, 32), Chunks = 7, Conversation = new ConversationTurn("panel-7", 3, New: false, DroppedTurns: 1) };

        using var json = JsonDocument.Parse(ReplyFormatter.Format(answer, RequestFormat.Envelope));
        var root = json.RootElement;

        Assert.Equal(32, root.GetProperty("usage").GetProperty("cachedPromptTokens").GetInt32());
        Assert.Equal(7, root.GetProperty("chunks").GetInt32());
        Assert.Equal("""{"id":"panel-7","turn":3,"new":false,"droppedTurns":1}""", root.GetProperty("conversation").GetRawText());
    }

    [Fact]
    public void Format_ARelayedStreamedAnswer_CountsThisNodesChunks_NotTheUpstreams()
    {
        byte[] upstream = Encoding.UTF8.GetBytes("""{"id":"x","text":"hi","chunks":12,"tier":1,"route":{"decision":"local","reasons":[]}}""");
        var relayed = new Relayed("r-1", upstream, null, new Route("escalated", ["domain"])) { Chunks = 9 };

        using var json = JsonDocument.Parse(ReplyFormatter.Format(relayed, RequestFormat.Envelope));

        Assert.Equal(9, json.RootElement.GetProperty("chunks").GetInt32());
        Assert.Equal("hi", ReplyFormatter.TextOf(relayed));
    }
}
