using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>The conversations a node keeps (docs/design.md §3a), and their bounds.</summary>
public sealed class ConversationStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Open_AKnownConversation_PutsItsTurnsBeforeTheNewPrompt()
    {
        var store = Store();
        Exchange(store, "panel-7", "Line 3 stopped", "Check E42", system: "Be brief");

        var (request, turn) = store.Open(Ask("panel-7", "and line 4?"));

        Assert.Equal([new ChatTurn("user", "Line 3 stopped"), new ChatTurn("assistant", "Check E42"), new ChatTurn("user", "and line 4?")], request.Turns);
        Assert.Equal(("Be brief", 2), (request.System, request.KeptMessages));
        Assert.Equal(new ConversationTurn("panel-7", 2, New: false, DroppedTurns: 0), turn);
    }

    [Fact]
    public void Open_AnUnknownConversation_StartsIt_AndAFailedTurnKeepsNothing()
    {
        var store = Store();
        var (request, turn) = store.Open(Ask("panel-7", "hello"));
        var failure = store.Record(request, turn!, new Failure(null, ErrorCode.Busy, "full"));

        Assert.Equal(new ConversationTurn("panel-7", 1, New: true, DroppedTurns: 0), turn);
        Assert.Null(failure.Conversation);
        Assert.True(store.Open(Ask("panel-7", "again")).Turn!.New);
    }

    [Fact]
    public void Bounds_TheIdlestGoesPastMax_AndAnIdleOneIsForgotten()
    {
        var store = Store(new ConversationsOptions { Max = 2, IdleMinutes = 10 });
        Exchange(store, "a", "1", "x");
        _time.Advance(TimeSpan.FromMinutes(1));
        Exchange(store, "b", "2", "y");
        _time.Advance(TimeSpan.FromMinutes(1));
        Exchange(store, "c", "3", "z");

        Assert.Equal(2, store.Count);
        Assert.True(store.Open(Ask("a", "?")).Turn!.New);
        Assert.False(store.Open(Ask("c", "?")).Turn!.New);
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.True(store.Open(Ask("c", "?")).Turn!.New);
    }

    [Fact]
    public void Open_AChatPastThePromptLimit_DropsTheOldestExchanges_AndSaysSo()
    {
        var store = Store(maxPromptBytes: 60);
        Exchange(store, "p", new string('a', 30), new string('b', 30));
        Exchange(store, "p", new string('c', 10), new string('d', 10));

        var (request, turn) = store.Open(Ask("p", "new question"));

        Assert.Equal([new string('c', 10), new string('d', 10), "new question"], request.Turns.Select(t => t.Content));
        Assert.Equal((3, 1), (turn!.Turn, turn.DroppedTurns));
    }

    [Fact]
    public void Record_TheEngineLeftOutTheOldestMessages_TheyAreGoneForGood()
    {
        var store = Store();
        Exchange(store, "p", "one", "1");
        Exchange(store, "p", "two", "2");
        var original = Ask("p", "three");
        var (_, turn) = store.Open(original);

        var recorded = store.Record(original, turn!, Answer("3") with { DroppedMessages = 2 });

        Assert.Equal(1, recorded.Conversation!.DroppedTurns);
        Assert.Equal(["two", "2", "three", "3", "four"], store.Open(Ask("p", "four")).Request.Turns.Select(t => t.Content));
    }

    private ConversationStore Store(ConversationsOptions? options = null, int maxPromptBytes = 8192) => new(options ?? new ConversationsOptions(), maxPromptBytes, _time);

    private static void Exchange(ConversationStore store, string id, string prompt, string answer, string? system = null)
    {
        var original = Ask(id, prompt) with { System = system };
        var (_, turn) = store.Open(original);
        store.Record(original, turn!, Answer(answer));
    }

    private static Request Ask(string conversation, string prompt) => new() { Prompt = prompt, Conversation = conversation, Format = RequestFormat.Envelope };

    private static Answer Answer(string text) => new(null, text, "stop", "pi-07", 0, "m", new Route("local", []), new Usage(1, 1), 1);
}
