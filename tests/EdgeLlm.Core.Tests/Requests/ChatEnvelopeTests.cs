using System.Buffers;
using System.Text;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Tests.Requests;

/// <summary>The envelope's additions of docs/design.md §3a: messages, stream and conversation.</summary>
public sealed class ChatEnvelopeTests
{
    [Fact]
    public void Parse_MessagesThenPrompt_TheChatEndsWithThePromptAsAUserTurn()
    {
        var request = Parse("""{"id":"c-1","messages":[{"role":"system","content":"Be brief"},{"role":"user","content":"Line 3 stopped"},{"role":"assistant","content":"Check E42"}],"prompt":"and line 4?","stream":true,"conversation":"panel-7"}""").Request!;

        Assert.Equal(
            [new ChatTurn("system", "Be brief"), new ChatTurn("user", "Line 3 stopped"), new ChatTurn("assistant", "Check E42"), new ChatTurn("user", "and line 4?")],
            request.Turns);
        Assert.Equal(("and line 4?", true, "panel-7"), (request.LastUserText, request.Stream, request.Conversation));
    }

    [Fact]
    public void Parse_MessagesAlone_AreTheChat()
    {
        var request = Parse("""{"messages":[{"role":"user","content":"Is E42 serious?","name":"ignored"}]}""").Request!;

        Assert.Equal([new ChatTurn("user", "Is E42 serious?")], request.Turns);
        Assert.Null(request.Prompt);
    }

    [Theory]
    [InlineData("""{"id":"c-2","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role must be \"system\", \"user\" or \"assistant\", not \"robot\"")]
    [InlineData("""{"id":"c-2","messages":[{"role":"user"}]}""", "messages[0] needs a role and a content")]
    [InlineData("""{"id":"c-2","messages":[null]}""", "messages[0] needs a role and a content")]
    [InlineData("""{"id":"c-2","messages":"hi"}""", "messages must be an array of {\"role\", \"content\"} objects whose role and content are strings")]
    [InlineData("""{"id":"c-2","messages":[{"role":"user","content":7}]}""", "messages must be an array of {\"role\", \"content\"} objects whose role and content are strings")]
    [InlineData("""{"id":"c-2","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""", "the messages must end with a user turn when no prompt follows them")]
    [InlineData("""{"id":"c-2","messages":[]}""", "prompt is missing")]
    [InlineData("""{"id":"c-2","prompt":"hi","stream":"yes"}""", "stream must be true or false")]
    [InlineData("""{"id":"c-2","prompt":"hi","conversation":""}""", "conversation must be 1 to 128 characters")]
    public void Parse_ABadChat_IsRefusedNamingTheProblem_UnderTheRequestersId(string payload, string problem)
    {
        var failure = Parse(payload).Failure;

        Assert.Equal(("c-2", ErrorCode.BadRequest, problem), (failure?.RequestId, failure?.Code, failure?.Message));
    }

    [Fact]
    public void Parse_AConversationIdOfMoreThan128Characters_IsRefused()
    {
        var failure = Parse($$"""{"prompt":"hi","conversation":"{{new string('p', 129)}}"}""").Failure;

        Assert.Equal("conversation must be 1 to 128 characters", failure?.Message);
    }

    [Fact]
    public void Parse_TheWholeChatCountsAgainstThePromptLimit()
    {
        string turn = new('x', 600);
        var failure = Parse($$"""{"messages":[{"role":"user","content":"{{turn}}"},{"role":"assistant","content":"{{turn}}"}],"prompt":"and?"}""", maxPromptBytes: 1000).Failure;

        Assert.Equal((ErrorCode.TooLarge, "the prompt's 1204 bytes exceed the limit of 1000"), (failure?.Code, failure?.Message));
    }

    [Fact]
    public void Write_SendsTheChatAndTheStreamFlag_ButNeverTheConversation()
    {
        var request = new Request { Id = "c-3", Messages = [new ChatTurn("user", "Line 3?"), new ChatTurn("assistant", "E42")], Prompt = "and 4?", Stream = true, Conversation = "panel-7" };

        string json = Encoding.UTF8.GetString(RequestEnvelope.Write(request));
        var back = Parse(json).Request!;

        Assert.DoesNotContain("panel-7", json, StringComparison.Ordinal);
        Assert.Equal(request.Turns, back.Turns);
        Assert.True(back.Stream);
        Assert.Null(back.Conversation);
    }

    private static ParsedRequest Parse(string json, int maxPromptBytes = 8192) => RequestParser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), maxPromptBytes);
}
