using System.Text;
using System.Threading.Channels;
using EdgeLlm.Mqtt.Fleet;
using Microsoft.AspNetCore.Http;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>
/// One browser's server-sent events (text/event-stream): the whole fleet at once ("node" events), then every
/// change as it is heard ("node", "gone"), and a comment every 15 s so that proxies and phones keep the
/// stream open. A browser that reads too slowly gets only the newest status of each node.
/// </summary>
internal static class FleetEventStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task RunAsync(HttpContext context, FleetState fleet, bool commands)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        // Per node, the newest state; the channel only says which nodes changed.
        var latest = new System.Collections.Concurrent.ConcurrentDictionary<string, FleetNode?>(StringComparer.Ordinal);
        var changed = Channel.CreateBounded<string>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        void OnChanged(string id, FleetNode? node)
        {
            latest[id] = node;
            changed.Writer.TryWrite(id);
        }

        fleet.Changed += OnChanged;
        try
        {
            var aborted = context.RequestAborted;
            await WriteAsync(response, "hello", commands ? "{\"commands\":true}"u8.ToArray() : "{\"commands\":false}"u8.ToArray(), aborted).ConfigureAwait(false);
            foreach (var node in fleet.Nodes)
            {
                await WriteAsync(response, "node", FleetJson.Node(node), aborted).ConfigureAwait(false);
            }

            while (!aborted.IsCancellationRequested)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                quiet.CancelAfter(KeepAlive);
                try
                {
                    string id = await changed.Reader.ReadAsync(quiet.Token).ConfigureAwait(false);
                    if (latest.TryRemove(id, out var node))
                    {
                        await WriteAsync(response, node is null ? "gone" : "node", node is null ? FleetJson.Gone(id) : FleetJson.Node(node), aborted).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The browser went away.
        }
        finally
        {
            fleet.Changed -= OnChanged;
        }
    }

    private static async Task WriteAsync(HttpResponse response, string type, byte[] json, CancellationToken cancellationToken)
    {
        // JsonPayload writes one line (not indented), as an SSE data field needs.
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes($"event: {type}\ndata: "), cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync(json, cancellationToken).ConfigureAwait(false);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
