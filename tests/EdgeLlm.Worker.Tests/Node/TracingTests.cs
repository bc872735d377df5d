using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using EdgeLlm.Core.Telemetry;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// An escalated request is one trace across the tiers (docs/telemetry.md), on a real Mosquitto: the
/// requester's traceparent, the device's request and relay, the gateway's request and generation, and the
/// OpenAI-compatible server's call, each under the one before. Both nodes run in this process, so one
/// listener sees every span.
/// </summary>
public sealed class TracingTests(MosquittoFixture mosquitto) : IClassFixture<MosquittoFixture>
{
    [MosquittoFact]
    public async Task AnEscalatedRequest_IsOneTraceAcrossTheTiers_UnderTheRequestersTraceparent()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is NodeTracing.SourceName or "EdgeLlm.OpenAi",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = FakeOpenAiServer.Start();
        using var fleet = new TestFleet(mosquitto.Broker.Server);
        await using var gateway = await fleet.StartAsync("gw", 1, $"Models:OpenAi:Endpoint={server.Endpoint}", "Models:OpenAi:Model=big-model", "Models:OpenAi:Quality=0.9");
        // No model of its own: the device sends everything up.
        await using var device = await fleet.StartAsync("dev", 0, "Upstream:Tier=1");
        await TestFleet.WaitUntilReachableAsync(device, "gw");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        var traceId = ActivityTraceId.CreateRandom();
        var requesterSpan = ActivitySpanId.CreateRandom();

        await requester.PublishAsync(fleet.AskTopic("dev"), Encoding.UTF8.GetBytes("""{"id":"t1","prompt":"What helps a fever?","domain":"medical"}"""), correlation: "t1", traceparent: $"00-{traceId}-{requesterSpan}-01");
        var answer = await requester.WaitForAsync(r => r.Correlation == "t1", TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => spans.Count(s => s.TraceId == traceId && s.OperationName == "edgellm.request") == 2, TimeSpan.FromSeconds(10), "both nodes' request spans ended");

        Assert.Null(answer.Error);
        var trace = spans.Where(s => s.TraceId == traceId).ToArray();
        var onDevice = Assert.Single(trace, s => s.OperationName == "edgellm.request" && (string?)s.GetTagItem("edgellm.node") == "dev");
        var relay = Assert.Single(trace, s => s.OperationName == "edgellm.relay");
        var onGateway = Assert.Single(trace, s => s.OperationName == "edgellm.request" && (string?)s.GetTagItem("edgellm.node") == "gw");
        var generation = Assert.Single(trace, s => s.OperationName == "edgellm.generation");
        var call = Assert.Single(trace, s => s.Source.Name == "EdgeLlm.OpenAi");
        Assert.Equal(requesterSpan, onDevice.ParentSpanId);
        Assert.Equal(onDevice.SpanId, relay.ParentSpanId);
        Assert.Equal(relay.SpanId, onGateway.ParentSpanId);
        Assert.Equal(onGateway.SpanId, generation.ParentSpanId);
        Assert.Equal(generation.SpanId, call.ParentSpanId);
        Assert.Equal(("escalate", "local"), ((string?)onDevice.GetTagItem("edgellm.decision"), (string?)onGateway.GetTagItem("edgellm.decision")));
    }
}
