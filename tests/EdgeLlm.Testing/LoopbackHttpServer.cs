using System.Net;

namespace EdgeLlm.Tests;

/// <summary>An HTTP server on a free loopback port (HttpListener), each request handled on its own task by the subclass.</summary>
public abstract class LoopbackHttpServer : IDisposable, IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _serving;

    /// <param name="port">The loopback port to listen on; by default a free one.</param>
    protected LoopbackHttpServer(int? port = null)
    {
        Port = port ?? FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        BaseUrl = $"http://127.0.0.1:{Port}";
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string BaseUrl { get; }

    /// <summary>Cancelled when the server stops: long answers end with it.</summary>
    protected CancellationToken Stopping => _stopping.Token;

    public void Dispose()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Close();
        _serving.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Answers one request (and closes or aborts its response).</summary>
    protected abstract Task HandleAsync(HttpListenerContext context);

    private async Task ServeAsync()
    {
        // Stopping ends the loop by itself: a GetContextAsync pending when the listener closes does not always
        // complete on Linux (a run of the suite hung in Dispose, waiting for it).
        var stopped = Task.Delay(Timeout.Infinite, _stopping.Token);
        while (!_stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                var next = _listener.GetContextAsync();
                if (await Task.WhenAny(next, stopped) != next)
                {
                    _ = next.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    return;
                }

                context = await next;
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }
}
