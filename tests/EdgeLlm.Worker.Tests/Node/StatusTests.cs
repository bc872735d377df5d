using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>The retained advertisement on edgellm/node/{nodeId}/status and the will that marks the node offline.</summary>
public sealed class StatusTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    [MosquittoFact]
    public async Task Status_IsRetainedAndCountsAnswersAndErrors()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}", "Mqtt:StatusIntervalSeconds=1", "Node:Tier=1");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        await requester.AskAsync("edgellm/ask/s", """{"prompt": "Lily", "maxTokens": 2}""");
        await requester.AskAsync("edgellm/ask/s", """{"prompt": ""}""");
        // The status published each second after the two replies counts them, and the node's first second.
        await using var watcher = await TestRequester.ConnectAsync(mosquitto.Broker.Server, subscribe: $"edgellm/node/{node.NodeId}/status");
        await watcher.WaitForAsync(
            s => Counted(s, "answers") == 1 && Counted(s, "bad-request") == 1 && JsonDocument.Parse(s.Payload).RootElement.GetProperty("uptimeSeconds").GetInt64() >= 1,
            TimeSpan.FromSeconds(10));

        // A late subscriber gets the retained status at once.
        var status = await RetainedStatusAsync(node.NodeId);

        Assert.True(status.GetProperty("online").GetBoolean());
        Assert.Equal(node.NodeId, status.GetProperty("node").GetString());
        Assert.Equal(1, status.GetProperty("tier").GetInt32());
        var model = Assert.Single(status.GetProperty("models").EnumerateArray());
        Assert.Equal("stories260k-int8", model.GetProperty("id").GetString());
        Assert.Equal(0.3, model.GetProperty("domains").GetProperty("stories").GetDouble());
        Assert.True(status.GetProperty("resources").GetProperty("memory").GetProperty("availableBytes").GetInt64() > 0);
        Assert.Equal(0, status.GetProperty("queueDepth").GetInt32());
        Assert.True(status.GetProperty("uptimeSeconds").GetInt64() >= 1);
        Assert.Equal(1, status.GetProperty("counters").GetProperty("answers").GetInt64());
        Assert.Equal(1, status.GetProperty("counters").GetProperty("errors").GetProperty("bad-request").GetInt64());
        Assert.StartsWith("0.1.0", status.GetProperty("version").GetString());
    }

    [MosquittoFact]
    public async Task Stopping_LeavesTheWillSayingOffline()
    {
        var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}");
        Assert.True((await RetainedStatusAsync(node.NodeId)).GetProperty("online").GetBoolean());

        await node.DisposeAsync();

        var status = await RetainedStatusAsync(node.NodeId);
        Assert.False(status.GetProperty("online").GetBoolean());
        Assert.Equal(node.NodeId, status.GetProperty("node").GetString());
    }

    private static long Counted(Received status, string counter)
    {
        var counters = JsonDocument.Parse(status.Payload).RootElement.GetProperty("counters");
        return counter == "answers" ? counters.GetProperty("answers").GetInt64()
            : counters.GetProperty("errors").TryGetProperty(counter, out var count) ? count.GetInt64() : 0;
    }

    private async Task<JsonElement> RetainedStatusAsync(string nodeId)
    {
        var run = await ProcessRun.RunAsync("mosquitto_sub", ["-V", "5", "-h", "127.0.0.1", "-p", $"{mosquitto.Broker.Port}", "-t", $"edgellm/node/{nodeId}/status", "-C", "1", "-W", "10", "--retained-only"], TimeSpan.FromSeconds(20));
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Output);
        return document.RootElement.Clone();
    }
}
