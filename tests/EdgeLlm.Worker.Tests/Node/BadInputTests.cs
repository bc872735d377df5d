using System.Text;
using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>Every error a requester can cause, each answered in the request's format, with the node serving on.</summary>
public sealed class BadInputTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>, IDisposable
{
    // About 600 tokens, more than stories260K's context of 512, in under 8 KB.
    private static readonly string LongPrompt = string.Join(' ', Enumerable.Repeat("Lily and Tom", 200));

    private readonly TempDirectory _temp = new();

    public static TheoryData<string, byte[], string, string> Malformed => new()
    {
        { "not JSON", Encoding.UTF8.GetBytes("""{"prompt": "Lily" """), "bad-request", "not valid JSON" },
        { "a JSON array", Encoding.UTF8.GetBytes("""["Lily", "Tom"]"""), "bad-request", "must be an object (an envelope), not an array" },
        { "no prompt", Encoding.UTF8.GetBytes("""{"id": "x1"}"""), "bad-request", "prompt is missing" },
        { "an empty prompt", Encoding.UTF8.GetBytes("""{"prompt": "  "}"""), "bad-request", "prompt is empty" },
        { "maxTokens -1", Encoding.UTF8.GetBytes("""{"prompt": "Lily", "maxTokens": -1}"""), "bad-request", "maxTokens must be a whole number from 1 to 65536" },
        { "a prompt that is a number", Encoding.UTF8.GetBytes("""{"prompt": 42}"""), "bad-request", "prompt must be a string" },
        { "an unknown privacy", Encoding.UTF8.GetBytes("""{"prompt": "Lily", "privacy": "secret"}"""), "bad-request", "privacy must be \"any\", \"fleet\" or \"local\"" },
        { "invalid UTF-8", [(byte)'{', 0xC3, 0x28, (byte)'}'], "bad-request", "not valid UTF-8" },
        { "a prompt over the limit", Encoding.UTF8.GetBytes($$"""{"prompt": "{{new string('a', 300)}}"}"""), "too-large", "exceed the limit of 256" },
        { "a 1 MB payload", Encoding.UTF8.GetBytes($$"""{"prompt": "{{new string('a', 1 << 20)}}"}"""), "too-large", "exceed the limit" },
    };

    [MosquittoTheory]
    [MemberData(nameof(Malformed))]
    public async Task MalformedEnvelope_GetsItsErrorAndTheNodeServesOn(string what, byte[] payload, string code, string message)
    {
        await using var node = await StartNodeAsync("Admission:MaxPromptBytes=256");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/bad", payload);

        Assert.Equal(code, reply.Error);
        using var envelope = JsonDocument.Parse(reply.Payload);
        Assert.Equal(code, envelope.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(message, envelope.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.True(what.Length > 0);
        await AssertServesAsync(requester);
    }

    [MosquittoFact]
    public async Task PlainTextErrors_ReadErrorCodeMessage()
    {
        await using var node = await StartNodeAsync("Admission:MaxPromptBytes=256");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var tooLarge = await requester.AskAsync("edgellm/ask/bad", new string('b', 300));
        var invalid = await requester.AskAsync("edgellm/ask/bad", [0xFF, 0xFE, 0x41]);
        var empty = await requester.AskAsync("edgellm/ask/bad", "   ");

        Assert.Equal(("too-large", "error: too-large: the prompt's 300 bytes exceed the limit of 256"), (tooLarge.Error, tooLarge.Text));
        Assert.Equal(("bad-request", "error: bad-request: the payload is not valid UTF-8"), (invalid.Error, invalid.Text));
        Assert.Equal(("bad-request", "error: bad-request: the prompt is empty"), (empty.Error, empty.Text));
        await AssertServesAsync(requester);
    }

    [MosquittoFact]
    public async Task UnknownFields_AreIgnored()
    {
        await using var node = await StartNodeAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/extra", """{"prompt": "Lily", "maxTokens": 5, "colour": "blue", "nested": {"a": [1, 2]}}""");

        Assert.Null(reply.Error);
        Assert.Equal(5, JsonDocument.Parse(reply.Payload).RootElement.GetProperty("usage").GetProperty("completionTokens").GetInt32());
    }

    [MosquittoFact]
    public async Task NoModelConfigured_AnswersNoModel()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/none", """{"id": "n1", "prompt": "Lily"}""");

        Assert.Equal("no-model", reply.Error);
        Assert.Equal("n1", JsonDocument.Parse(reply.Payload).RootElement.GetProperty("id").GetString());
    }

    [MosquittoFact]
    public async Task ModelThatWillNotLoad_AnswersNoModel()
    {
        string broken = _temp.Combine("broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "genai_config.json"), "{ not json");
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={broken}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        Assert.Equal("no-model", (await requester.AskAsync("edgellm/ask/broken", "Lily")).Error);
        Assert.Equal("no-model", (await requester.AskAsync("edgellm/ask/broken", "Tom")).Error);
    }

    [MosquittoFact]
    public async Task PromptLongerThanTheContext_AnswersTooLarge()
    {
        await using var node = await StartNodeAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/long", LongPrompt);

        Assert.Equal("too-large", reply.Error);
        Assert.Contains("in the model's context of 512", reply.Text);
        await AssertServesAsync(requester);
    }

    [MosquittoFact]
    public async Task ModelThatFailsWhileRunning_AnswersInternalAndServesOn()
    {
        // A config that promises more context than the graph's rotary tables hold: it loads, then fails past them.
        string wrong = _temp.CopyFolder(models.Stories, "wrong-context");
        string config = Path.Combine(wrong, "genai_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"context_length\": 512", "\"context_length\": 4096", StringComparison.Ordinal));
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={wrong}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var failed = await requester.AskAsync("edgellm/ask/wrong", LongPrompt);

        Assert.Equal("internal", failed.Error);
        Assert.StartsWith("error: internal: the model failed", failed.Text);
        await AssertServesAsync(requester);
    }

    public void Dispose() => _temp.Dispose();

    private Task<RunningNode> StartNodeAsync(params string[] settings) =>
        RunningNode.StartAsync([$"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}", .. settings]);

    private static async Task AssertServesAsync(TestRequester requester)
    {
        var reply = await requester.AskAsync("edgellm/ask/after", """{"prompt": "Lily", "maxTokens": 3}""");
        Assert.Null(reply.Error);
    }
}
