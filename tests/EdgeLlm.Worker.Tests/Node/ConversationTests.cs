using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// Conversations end to end on a real Mosquitto (docs/design.md §3a): five turns kept by the node under an id,
/// or sent whole as messages, each reusing the prompt cache from the second turn and writing the same greedy
/// text as a node without the cache; and a conversation that lands on a node that does not know it.
/// </summary>
public sealed class ConversationTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    private static readonly string[] Turns = ["Lily went to the park.", "She saw a big dog.", "The dog was sad.", "Lily gave it a ball.", "They played all day."];

    [MosquittoFact]
    public async Task FiveTurns_ByIdAndByMessages_ReuseTheCacheFromTheSecond_AndWriteWhatANodeWithoutItWrites()
    {
        await using var cached = await StartAsync("cached");
        await using var uncached = await StartAsync("uncached", "Conversations:CacheSlots=0");
        await using var panel = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var byId = await ConverseByIdAsync(panel, cached, "panel-7");
        var byMessages = await ConverseByMessagesAsync(panel, cached);
        var withoutCache = await ConverseByIdAsync(panel, uncached, "panel-8");

        Assert.Equal(Texts(withoutCache), Texts(byId));
        Assert.Equal(Texts(withoutCache), Texts(byMessages));
        Assert.All(byId.Skip(1).Concat(byMessages.Skip(1)), a => Assert.True(Cached(a) > 0, $"turn with {Cached(a)} cached prompt tokens"));
        Assert.All(withoutCache, a => Assert.Equal(0, Cached(a)));
        Assert.Equal([(1, true), (2, false), (3, false), (4, false), (5, false)], byId.Select(a => (a.GetProperty("conversation").GetProperty("turn").GetInt32(), a.GetProperty("conversation").GetProperty("new").GetBoolean())));
        Assert.All(byMessages, a => Assert.False(a.TryGetProperty("conversation", out _)));
        // The second turn read what the first one left: the kept turns, not just the new prompt.
        Assert.True(byId[1].GetProperty("usage").GetProperty("promptTokens").GetInt32() > byId[0].GetProperty("usage").GetProperty("promptTokens").GetInt32() + 5);
    }

    [MosquittoFact]
    public async Task AConversationOnANodeThatDoesNotKnowIt_StartsAnew_AndTheNodeThatKeepsItIsAskedOnItsOwnTopic()
    {
        await using var first = await StartAsync("first");
        await using var second = await StartAsync("second");
        await using var panel = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        await AskAsync(panel, AskTopic(first), """{"prompt":"Lily went to the park.","conversation":"panel-9","maxTokens":8}""");
        var elsewhere = await AskAsync(panel, AskTopic(second), """{"prompt":"She saw a dog.","conversation":"panel-9","maxTokens":8}""");
        var back = await AskAsync(panel, $"edgellm/node/{first.NodeId}/ask", """{"prompt":"She saw a dog.","conversation":"panel-9","maxTokens":8}""");

        Assert.Equal((1, true), Turn(elsewhere));
        Assert.Equal(second.NodeId, elsewhere.GetProperty("node").GetString());
        Assert.Equal((2, false), Turn(back));
        Assert.Equal(first.NodeId, back.GetProperty("node").GetString());
    }

    [MosquittoFact]
    public async Task ALongConversation_DropsItsOldestTurnsToFitTheContext_AndSaysSo()
    {
        await using var node = await StartAsync("long");
        await using var panel = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        string story = "Once upon a time there was a little girl named Lily who liked to play in the park with her friends every day.";

        var answers = new List<JsonElement>();
        for (int turn = 1; turn <= 8; turn++)
        {
            answers.Add(await AskAsync(panel, AskTopic(node), new JsonObject { ["prompt"] = $"{turn}. {story}", ["conversation"] = "long-7", ["maxTokens"] = 60 }.ToJsonString()));
        }

        var dropped = answers.Select(a => a.GetProperty("conversation").GetProperty("droppedTurns").GetInt32()).ToArray();
        Assert.Equal(Enumerable.Range(1, 8), answers.Select(a => a.GetProperty("conversation").GetProperty("turn").GetInt32()));
        Assert.Equal(0, dropped[0]);
        Assert.True(dropped[^1] > 0, $"dropped turns: {string.Join(", ", dropped)}");
        Assert.Equal(dropped.Order(), dropped);
        // The model's context (512 tokens) holds the prompt and room for the answer.
        Assert.All(answers, a => Assert.InRange(a.GetProperty("usage").GetProperty("promptTokens").GetInt32(), 1, 512 - 60));
    }

    [MosquittoFact]
    public async Task AskConversation_FromTheCommandLine_GoesOnWithTheKeptTurns()
    {
        await using var node = await StartAsync("cli");

        var first = await CliRun.Of("ask", "--server", mosquitto.Broker.Server, "--topic", AskTopic(node), "--conversation", "cli-1", "Lily went to the park.");
        var second = await CliRun.Of("ask", "--server", mosquitto.Broker.Server, "--topic", AskTopic(node), "--conversation", "cli-1", "--json", """{"prompt":"She saw a dog.","maxTokens":8}""");

        Assert.Equal((0, ""), (first.ExitCode, first.Error));
        Assert.Equal(models.StoriesContinuation("Lily went to the park.", 128) + Environment.NewLine, first.Output);
        var answer = JsonDocument.Parse(second.Output).RootElement;
        Assert.Equal((2, false), Turn(answer));
    }

    private static async Task<List<JsonElement>> ConverseByIdAsync(TestRequester panel, RunningNode node, string conversation)
    {
        var answers = new List<JsonElement>();
        foreach (string turn in Turns)
        {
            answers.Add(await AskAsync(panel, AskTopic(node), new JsonObject { ["prompt"] = turn, ["conversation"] = conversation, ["maxTokens"] = 16 }.ToJsonString()));
        }

        return answers;
    }

    // The panel keeps the chat itself and sends it whole each turn.
    private static async Task<List<JsonElement>> ConverseByMessagesAsync(TestRequester panel, RunningNode node)
    {
        var answers = new List<JsonElement>();
        var messages = new JsonArray();
        foreach (string turn in Turns)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = turn });
            var answer = await AskAsync(panel, AskTopic(node), new JsonObject { ["messages"] = messages.DeepClone(), ["maxTokens"] = 16 }.ToJsonString());
            messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = answer.GetProperty("text").GetString() });
            answers.Add(answer);
        }

        return answers;
    }

    private static async Task<JsonElement> AskAsync(TestRequester panel, string topic, string envelope)
    {
        var reply = await panel.AskAsync(topic, envelope, TimeSpan.FromSeconds(60));
        Assert.Null(reply.Error);
        return JsonDocument.Parse(reply.Payload).RootElement;
    }

    private static string?[] Texts(List<JsonElement> answers) => [.. answers.Select(a => a.GetProperty("text").GetString())];

    private static int Cached(JsonElement answer) => answer.GetProperty("usage").GetProperty("cachedPromptTokens").GetInt32();

    private static (int Turn, bool New) Turn(JsonElement answer) =>
        (answer.GetProperty("conversation").GetProperty("turn").GetInt32(), answer.GetProperty("conversation").GetProperty("new").GetBoolean());

    private static string AskTopic(RunningNode node) => $"test/{node.NodeId}/ask/q";

    private Task<RunningNode> StartAsync(string name, params string[] more)
    {
        string id = $"conv-{name}-{Guid.NewGuid():N}"[..24];
        return RunningNode.StartAsync([$"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:Local={models.Stories}", .. more]);
    }
}
