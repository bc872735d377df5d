using System.Net;
using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>A node whose model is an OpenAI-compatible server (Models:OpenAi), asked directly.</summary>
public sealed class EndpointTierTests(MosquittoFixture mosquitto) : IClassFixture<MosquittoFixture>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [MosquittoFact]
    public async Task Ask_IsAnsweredByTheEndpoint_WithTheKeyFromItsFile()
    {
        await using var server = FakeOpenAiServer.Start();
        string keyFile = _temp.Combine("api-key");
        await File.WriteAllTextAsync(keyFile, "sk-from-file\n");
        await using var node = await StartAsync(server, $"Models:OpenAi:ApiKeyFile={keyFile}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync(AskTopic(node), """{"id": "e1", "prompt": "Why is the sky blue?", "system": "Be brief.", "maxTokens": 50, "maxLatencyMs": 20000}""");

        var answer = JsonDocument.Parse(reply.Payload).RootElement;
        Assert.Equal("big: Why is the sky blue?", answer.GetProperty("text").GetString());
        Assert.Equal((2, "big-model", node.NodeId), (answer.GetProperty("tier").GetInt32(), answer.GetProperty("model").GetString(), answer.GetProperty("node").GetString()));
        Assert.Equal((11, 5), (answer.GetProperty("usage").GetProperty("promptTokens").GetInt32(), answer.GetProperty("usage").GetProperty("completionTokens").GetInt32()));
        var call = Assert.Single(server.Calls);
        Assert.Equal(("big-model", "Bearer sk-from-file"), (call.Model, call.Authorization));
        var messages = call.Body["messages"]!.AsArray().Select(m => ((string?)m!["role"], (string?)m["content"]));
        Assert.Equal([("system", "Be brief."), ("user", "Why is the sky blue?")], messages);
        Assert.Equal(50, (int?)(call.Body["max_completion_tokens"] ?? call.Body["max_tokens"]));
        // EdgeLlm's own deadline travels in the chat options; it is not the server's business.
        Assert.DoesNotContain("edgellm", call.Body.ToJsonString(), StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Ask_KeyFromTheEnvironment_IsSent()
    {
        await using var server = FakeOpenAiServer.Start();
        string id = $"endpoint-{Guid.NewGuid():N}"[..20];
        await using var node = NodeProcess.Start(
            [$"Node:Id={id}", "Node:Tier=2", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:OpenAi:Endpoint={server.Endpoint}", "Models:OpenAi:Model=big-model"],
            new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-from-env" });
        await node.WaitUntilListeningAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync($"test/{id}/ask/q", "Why is the sky blue?");

        Assert.Equal("big: Why is the sky blue?", reply.Text);
        Assert.Equal("Bearer sk-from-env", Assert.Single(server.Calls).Authorization);
    }

    [MosquittoFact]
    public async Task Ask_EndpointRefuses_AnswersUpstreamUnavailable()
    {
        await using var server = FakeOpenAiServer.Start(status: HttpStatusCode.Unauthorized);
        await using var node = await StartAsync(server);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync(AskTopic(node), """{"id": "e2", "prompt": "hello"}""");

        Assert.Equal("upstream-unavailable", reply.Error);
        string message = JsonDocument.Parse(reply.Payload).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains($"{server.Endpoint} answered HTTP 401", message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Ask_EndpointDown_AnswersUpstreamUnavailable_NotAnInternalError()
    {
        var server = FakeOpenAiServer.Start();
        await server.DisposeAsync();
        await using var node = await StartAsync(server);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync(AskTopic(node), """{"id": "e4", "prompt": "hello"}""", TimeSpan.FromSeconds(60));

        // The OpenAI client tries again by itself, then gives up with every try's connection refused together.
        Assert.Equal("upstream-unavailable", reply.Error);
        string message = JsonDocument.Parse(reply.Payload).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains($"{server.Endpoint} could not be reached in 4 tries", message, StringComparison.Ordinal);
    }

    [MosquittoFact]
    public async Task Ask_EndpointSlowerThanTheDeadline_AnswersTimeoutInTime()
    {
        await using var server = FakeOpenAiServer.Start(delay: TimeSpan.FromSeconds(20));
        await using var node = await StartAsync(server);
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var reply = await requester.AskAsync(AskTopic(node), """{"id": "e3", "prompt": "hello", "maxLatencyMs": 700}""");

        Assert.Equal("timeout", reply.Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [MosquittoFact]
    public async Task Ask_ThirdPartyEndpoint_RefusesFleetAndLocalRequestsWithoutCallingIt()
    {
        await using var server = FakeOpenAiServer.Start();
        await using var node = await StartAsync(server, "Models:OpenAi:ThirdParty=true");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var fleet = await requester.AskAsync(AskTopic(node), """{"prompt": "patient notes", "privacy": "fleet"}""");
        var local = await requester.AskAsync(AskTopic(node), """{"prompt": "patient notes", "privacy": "local"}""");
        var any = await requester.AskAsync(AskTopic(node), """{"prompt": "a poem", "privacy": "any"}""");

        Assert.Equal(("rejected-privacy", "rejected-privacy", null), (fleet.Error, local.Error, any.Error));
        Assert.Equal(["a poem"], server.Calls.Select(c => c.LastUserMessage));
    }

    public void Dispose() => _temp.Dispose();

    private static string AskTopic(RunningNode node) => $"test/{node.NodeId}/ask/q";

    private Task<RunningNode> StartAsync(FakeOpenAiServer server, params string[] more)
    {
        string id = $"endpoint-{Guid.NewGuid():N}"[..20];
        return RunningNode.StartAsync(
        [
            $"Node:Id={id}",
            "Node:Tier=2",
            $"Mqtt:Server={mosquitto.Broker.Server}",
            $"Mqtt:RequestTopic=test/{id}/ask/#",
            $"Models:OpenAi:Endpoint={server.Endpoint}",
            "Models:OpenAi:Model=big-model",
            .. more,
        ]);
    }
}
