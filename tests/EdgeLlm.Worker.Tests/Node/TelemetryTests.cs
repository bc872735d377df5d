using EdgeLlm.Tests;
using OpenTelemetry.Metrics;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>The node's metrics (docs/telemetry.md) as Prometheus scrapes them, on a real Mosquitto.</summary>
public sealed class TelemetryTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>
{
    [MosquittoFact]
    public async Task PrometheusPort_ServesTheGenAiMetricsOfWhatTheNodeDid()
    {
        int port = FreePort.Next();
        string id = $"metrics-{Guid.NewGuid():N}"[..20];
        await using var node = await RunningNode.StartAsync($"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:Local={models.Stories}", $"Telemetry:PrometheusPort={port}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        Assert.Null((await requester.AskAsync($"test/{id}/ask/q", """{"prompt":"Once upon a time","maxTokens":12}""")).Error);
        Assert.Equal("bad-request", (await requester.AskAsync($"test/{id}/ask/q", """{"prompt":"Lily","maxTokens":-1}""")).Error);
        using var http = new HttpClient();
        string scraped = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var lines = scraped.Split('\n');

        Assert.Contains(lines, l => l.StartsWith("gen_ai_server_request_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("le=\"0.01\"", StringComparison.Ordinal) && l.Contains("gen_ai_response_model=\"stories260k-int8\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("gen_ai_server_time_to_first_token_seconds_count{", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("gen_ai_server_time_per_output_token_seconds_count{", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("gen_ai_client_token_usage_sum{", StringComparison.Ordinal) && l.Contains("gen_ai_token_type=\"output\"", StringComparison.Ordinal) && l.EndsWith(" 12", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("edgellm_replies_total{", StringComparison.Ordinal) && l.Contains("error_type=\"bad-request\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("edgellm_replies_total{", StringComparison.Ordinal) && l.Contains("edgellm_decision=\"local\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("edgellm_queue_depth", StringComparison.Ordinal) && l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("edgellm_model_loads_total{", StringComparison.Ordinal) && l.Contains("edgellm_outcome=\"loaded\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
    }

    [MosquittoFact]
    public async Task OtlpEndpoint_ExportsTheRequestsTraceAndTheMetrics_OverOtlpHttp()
    {
        using var collector = new OtlpCollector();
        string id = $"otlp-{Guid.NewGuid():N}"[..20];
        // The SDK's export intervals (OTEL_*, read from the node's configuration like any key), here shortened.
        await using var node = NodeProcess.Start(
            [$"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:Local={models.Stories}", $"Telemetry:OtlpEndpoint={collector.BaseUrl}",
             "OTEL_METRIC_EXPORT_INTERVAL=500", "OTEL_BSP_SCHEDULE_DELAY=100"]);
        await node.WaitUntilListeningAsync();
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        string traceId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

        await requester.PublishAsync($"test/{id}/ask/q", """{"id":"o-1","prompt":"Once upon a time","maxTokens":4}"""u8.ToArray(), correlation: "o-1", traceparent: $"00-{traceId}-00f067aa0ba902b7-01");
        await requester.WaitForAsync(r => r.Correlation == "o-1", TimeSpan.FromSeconds(30));

        // Protobuf carries the trace id as its 16 bytes and names as UTF-8: found in the bodies without the schema.
        byte[] trace = Convert.FromHexString(traceId);
        // Each span carries its trace id; the two may come in different batches (one export every 100 ms here).
        bool Exported(byte[] span) => collector.Received.Any(r => r.Path == "/v1/traces" && Contains(r.Body, trace) && Contains(r.Body, span));
        await Eventually.TrueAsync(() => Exported("edgellm.request"u8.ToArray()) && Exported("edgellm.generation"u8.ToArray()), TimeSpan.FromSeconds(30), "the request's spans at the collector");
        await Eventually.TrueAsync(() => collector.Received.Any(r => r.Path == "/v1/metrics" && Contains(r.Body, "gen_ai.server.request.duration"u8) && Contains(r.Body, "edgellm.replies"u8)), TimeSpan.FromSeconds(30), "the metrics at the collector");
        Assert.All(collector.Received, r => Assert.Equal("application/x-protobuf", r.ContentType));
    }

    [MosquittoFact]
    public async Task NoTelemetryConfigured_RunsNoOpenTelemetry()
    {
        string id = $"quiet-{Guid.NewGuid():N}"[..20];
        await using var node = await RunningNode.StartAsync($"Node:Id={id}", $"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:RequestTopic=test/{id}/ask/#", $"Models:Local={models.Stories}");

        Assert.Null(node.OptionalService<MeterProvider>());
    }

    private static bool Contains(byte[] body, ReadOnlySpan<byte> part) => body.AsSpan().IndexOf(part) >= 0;
}
