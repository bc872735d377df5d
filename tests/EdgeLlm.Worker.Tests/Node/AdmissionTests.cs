using System.Text;
using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>The bounded queue, deadlines and repeated ids, against a real broker and a model slow enough to queue behind.</summary>
public sealed class AdmissionTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    [MosquittoFact]
    public async Task ConcurrentRequesters_ThroughAQueueOf8_EachGetExactlyOneAnswerOrBusy()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Slow}", "Admission:QueueCapacity=8");
        var requesters = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => TestRequester.ConnectAsync(mosquitto.Broker.Server)));
        try
        {
            // Each on a topic of its own, as sensors ask: a requester is its request topic (Admission:MaxPerRequester).
            await Task.WhenAll(requesters.Select((r, i) => r.PublishAsync($"edgellm/ask/crowd/{i}", $$"""{"id": "c{{i}}", "prompt": "hello", "maxTokens": 16}""", correlation: $"c{{i}}")));

            await Task.WhenAll(requesters.Select(r => r.WaitForCountAsync(1, TimeSpan.FromSeconds(90), quietFor: TimeSpan.Zero)));
            await requesters[^1].WaitForCountAsync(1, TimeSpan.Zero, quietFor: TimeSpan.FromSeconds(1));

            Assert.All(requesters, r => Assert.Single(r.All));
            var errors = requesters.Select(r => r.All.Single().Error).ToList();
            Assert.All(errors, e => Assert.True(e is null or "busy", $"unexpected error {e}"));
            int answered = errors.Count(e => e is null);
            Assert.InRange(answered, 8, 199);
            Assert.Equal(200, answered + errors.Count(e => e == "busy"));
            Assert.All(requesters.Select((r, i) => (r, i)), p => Assert.Equal($"c{p.i}", JsonDocument.Parse(p.r.All.Single().Payload).RootElement.GetProperty("id").GetString()));
        }
        finally
        {
            await Task.WhenAll(requesters.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    [MosquittoFact]
    public async Task AChattySensor_GetsBusyPastItsShareOfTheQueue_WhileAPanelIsStillTaken()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Slow}", "Admission:QueueCapacity=8");
        await using var sensor = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        await using var panel = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        // One holds the model; a quarter of 8, two, wait in the queue; the rest of the sensor's are refused.
        var pipeline = node.Service<Core.Processing.INodePipeline>();
        await sensor.PublishAsync("edgellm/ask/sensor-t1", """{"id": "s0", "prompt": "hello", "maxTokens": 300}""", correlation: "s0");
        await Eventually.TrueAsync(() => pipeline.Activity is { Generating: true, Queued: 0 }, TimeSpan.FromSeconds(30), "s0 on the model");
        for (int i = 1; i < 6; i++)
        {
            await sensor.PublishAsync("edgellm/ask/sensor-t1", $$"""{"id": "s{{i}}", "prompt": "hello", "maxTokens": 100}""", correlation: $"s{i}");
        }

        var refused = await sensor.WaitForCountAsync(3, TimeSpan.FromSeconds(30), quietFor: TimeSpan.Zero);
        var taken = await panel.AskAsync("edgellm/ask/panel-7", """{"id": "p1", "prompt": "hello", "maxTokens": 2}""", TimeSpan.FromSeconds(90));

        Assert.All(refused, r => Assert.Equal("busy", r.Error));
        Assert.All(refused, r => Assert.Contains("Admission:MaxPerRequester", r.Text, StringComparison.Ordinal));
        Assert.Equal(["s3", "s4", "s5"], refused.Select(r => r.Correlation).Order(StringComparer.Ordinal));
        Assert.Null(taken.Error);
        var all = await sensor.WaitForCountAsync(6, TimeSpan.FromSeconds(90), quietFor: TimeSpan.Zero);
        Assert.Equal(3, all.Count(r => r.Error is null));
    }

    [MosquittoFact]
    public async Task MaxLatencyPassedDuringGeneration_AnswersTimeout()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Slow}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/late", """{"id": "t1", "prompt": "hello", "maxTokens": 2000, "maxLatencyMs": 300}""");

        Assert.Equal("timeout", reply.Error);
        Assert.Contains("no answer within the deadline (300 ms)", reply.Text);
    }

    [MosquittoFact]
    public async Task ExpiredWhileQueued_AnswersTimeoutWithoutRunning()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Slow}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        // A long request holds the model; the next one's message expires while it waits.
        // Taken in the order they are published: the long one has the model before the short one is queued.
        await requester.PublishAsync("edgellm/ask/queue", """{"id": "long", "prompt": "hello", "maxTokens": 1000}""", correlation: "long");
        await requester.PublishAsync("edgellm/ask/queue", """{"id": "short", "prompt": "hello", "maxTokens": 4}""", correlation: "short", expirySeconds: 1);

        var expired = await requester.WaitForAsync(r => r.Correlation == "short", TimeSpan.FromSeconds(60));
        var finished = await requester.WaitForAsync(r => r.Correlation == "long", TimeSpan.FromSeconds(60));

        Assert.Equal("timeout", expired.Error);
        Assert.Contains("in the queue", expired.Text);
        Assert.Null(finished.Error);
    }

    [MosquittoFact]
    public async Task RepeatedId_IsAnsweredOnce()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        await using var other = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        string request = """{"id": "same-id", "prompt": "Lily", "maxTokens": 4}""";

        await requester.PublishAsync("edgellm/ask/dup", request, correlation: "one");
        await requester.PublishAsync("edgellm/ask/dup", request, correlation: "one");
        await other.PublishAsync("edgellm/ask/dup", request, correlation: "one");

        var mine = await requester.WaitForCountAsync(2, TimeSpan.FromSeconds(5), quietFor: TimeSpan.FromSeconds(1));
        var theirs = await other.WaitForCountAsync(1, TimeSpan.FromSeconds(20), quietFor: TimeSpan.Zero);
        Assert.Single(mine);
        Assert.Null(mine[0].Error);
        // Another requester's same id is its own request.
        Assert.Single(theirs);
    }

    [MosquittoFact]
    public async Task RequestsPublishedWhileTheNodeIsAway_AreAnsweredWhenItIsBack()
    {
        string nodeId = $"away-{Guid.NewGuid():N}"[..16];
        string[] settings = [$"Node:Id={nodeId}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}", "Mqtt:RequestTopic=edgellm/away/ask/#"];
        var node = await RunningNode.StartAsync(settings);
        await node.DisposeAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        for (int i = 0; i < 3; i++)
        {
            await requester.PublishAsync("edgellm/away/ask/x", Encoding.UTF8.GetBytes($$"""{"id": "w{{i}}", "prompt": "Tom", "maxTokens": 3}"""), correlation: $"w{i}");
        }

        await using var back = await RunningNode.StartAsync(settings);
        var replies = await requester.WaitForCountAsync(3, TimeSpan.FromSeconds(30), quietFor: TimeSpan.FromSeconds(1));

        Assert.Equal(["w0", "w1", "w2"], replies.Select(r => r.Correlation).Order());
        Assert.All(replies, r => Assert.Null(r.Error));
    }
}
