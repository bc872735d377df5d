using System.Collections.Concurrent;
using System.Net;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// An OpenTelemetry collector's OTLP/HTTP receiver as the exporters see it (none can be installed here):
/// takes POST /v1/traces and /v1/metrics, keeps their protobuf bodies, and answers 200 with an empty
/// (protobuf: all fields default) export response, as the collector does when it takes everything.
/// </summary>
internal sealed class OtlpCollector : LoopbackHttpServer
{
    private readonly ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> _received = new();

    public IReadOnlyList<(string Path, string? ContentType, byte[] Body)> Received => [.. _received];

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body, Stopping);
        _received.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
        context.Response.StatusCode = context.Request.HttpMethod == "POST" ? 200 : 405;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength64 = 0;
        context.Response.Close();
    }
}
