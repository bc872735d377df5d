using System.Collections.Concurrent;
using System.Net;

namespace EdgeLlm.Tests;

/// <summary>
/// A download server for model sources on a free loopback port: GET /{name} with Range support, as Hugging
/// Face serves files. It counts requests and the ranges asked for, and can cut a download off midway or send
/// it slowly, to test resuming and interruptions.
/// </summary>
public sealed class ModelSourceServer : LoopbackHttpServer
{
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _cutAfter = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Name, long From)> _requests = new();
    private int _authorized;

    /// <summary>Bytes a second each response is sent at; 0 for as fast as it goes.</summary>
    public int BytesPerSecond { get; set; }

    /// <summary>Serves <paramref name="content"/> at /{name}; returns its URL.</summary>
    public string Serve(string name, byte[] content)
    {
        _files[name] = content;
        return Url(name);
    }

    public string Url(string name) => $"{BaseUrl}/{name}";

    /// <summary>The next response for /{name} stops after <paramref name="bytes"/> bytes and drops the connection.</summary>
    public void CutNextAfter(string name, long bytes) => _cutAfter[name] = bytes;

    /// <summary>Requests that carried an Authorization header: none should, when this plays a content store the hub redirects to.</summary>
    public int AuthorizedRequests => Volatile.Read(ref _authorized);

    /// <summary>GET requests for /{name}, each with the first byte it asked for (0 without a Range).</summary>
    public IReadOnlyList<long> RequestsFor(string name) => [.. _requests.Where(r => r.Name == name).Select(r => r.From)];

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        string name = context.Request.Url!.AbsolutePath.TrimStart('/');
        if (context.Request.Headers["Authorization"] is not null)
        {
            Interlocked.Increment(ref _authorized);
        }

        if (!_files.TryGetValue(name, out byte[]? content))
        {
            response.StatusCode = (int)HttpStatusCode.NotFound;
            response.Close();
            return;
        }

        long from = 0;
        if (context.Request.Headers["Range"] is string range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        }

        _requests.Enqueue((name, from));
        if (from >= content.Length && from > 0)
        {
            response.StatusCode = (int)HttpStatusCode.RequestedRangeNotSatisfiable;
            response.Close();
            return;
        }

        if (from > 0)
        {
            response.StatusCode = (int)HttpStatusCode.PartialContent;
            response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }

        response.ContentLength64 = content.Length - from;
        long end = _cutAfter.TryRemove(name, out long cut) ? Math.Min(content.Length, from + cut) : content.Length;
        try
        {
            const int chunk = 16 * 1024;
            for (long at = from; at < end; at += chunk)
            {
                int length = (int)Math.Min(chunk, end - at);
                await response.OutputStream.WriteAsync(content.AsMemory((int)at, length), Stopping);
                await response.OutputStream.FlushAsync(Stopping);
                if (BytesPerSecond > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)length / BytesPerSecond), Stopping);
                }
            }

            if (end < content.Length)
            {
                response.Abort();
                return;
            }

            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            response.Abort();
        }
    }
}
