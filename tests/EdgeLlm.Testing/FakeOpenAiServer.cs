using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace EdgeLlm.Tests;

/// <summary>One chat completion call as the server received it.</summary>
public sealed record ChatCall(string Model, string? Authorization, JsonObject Body)
{
    public string LastUserMessage => Body["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();
}

/// <summary>
/// An OpenAI-compatible server (POST /v1/chat/completions, the subset vLLM, Ollama and llama.cpp's server
/// share) on a free loopback port, standing in for a data-centre tier: it answers "big: {prompt}", counts and
/// records its calls, and can be made slow or failing. Asked to stream, it sends the answer word by word as
/// server-sent events (chat.completion.chunk, then [DONE]), <c>chunkDelay</c> apart, and counts the streams
/// whose client hung up before the end.
/// </summary>
public sealed class FakeOpenAiServer : LoopbackHttpServer
{
    private readonly ConcurrentQueue<ChatCall> _calls = new();
    private readonly Channel<ChatCall> _arrivals = Channel.CreateUnbounded<ChatCall>();
    private readonly TimeSpan _delay;
    private readonly TimeSpan _chunkDelay;
    private readonly HttpStatusCode _status;
    private int _abandoned;

    private FakeOpenAiServer(TimeSpan delay, TimeSpan chunkDelay, HttpStatusCode status, int? port)
        : base(port)
    {
        _delay = delay;
        _chunkDelay = chunkDelay;
        _status = status;
    }

    /// <summary>Streams whose client went away before the last event.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    public string Endpoint => $"{BaseUrl}/v1";

    public int Count => _calls.Count;

    public IReadOnlyCollection<ChatCall> Calls => _calls;

    /// <param name="delay">How long each answer takes.</param>
    /// <param name="status">The HTTP status every call gets (200: an answer; else an OpenAI error body).</param>
    /// <param name="chunkDelay">Between a streamed answer's events.</param>
    /// <param name="port">The loopback port (that of a server stopped before, to bring it back); else a free one.</param>
    public static FakeOpenAiServer Start(TimeSpan? delay = null, HttpStatusCode status = HttpStatusCode.OK, TimeSpan? chunkDelay = null, int? port = null) =>
        new(delay ?? TimeSpan.Zero, chunkDelay ?? TimeSpan.Zero, status, port);

    /// <summary>Waits for the next call to arrive (it may still be being answered).</summary>
    public async Task<ChatCall> NextCallAsync(TimeSpan timeout) => await _arrivals.Reader.ReadAsync().AsTask().WaitAsync(timeout);

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        using var response = context.Response;
        if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath != "/v1/chat/completions")
        {
            response.StatusCode = (int)HttpStatusCode.NotFound;
            return;
        }

        var body = (await JsonNode.ParseAsync(context.Request.InputStream))!.AsObject();
        var call = new ChatCall((string?)body["model"] ?? "", context.Request.Headers["Authorization"], body);
        _calls.Enqueue(call);
        _arrivals.Writer.TryWrite(call);
        try
        {
            await Task.Delay(_delay, Stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        response.StatusCode = (int)_status;
        if (_status == HttpStatusCode.OK && (bool?)body["stream"] == true)
        {
            await StreamAsync(response, call);
            return;
        }

        response.ContentType = "application/json";
        object reply = _status == HttpStatusCode.OK ? Completion(call) : new { error = new { message = "the model is overloaded", type = "server_error" } };
        await JsonSerializer.SerializeAsync(response.OutputStream, reply);
    }

    private async Task StreamAsync(HttpListenerResponse response, ChatCall call)
    {
        response.ContentType = "text/event-stream";
        response.SendChunked = true;
        string id = $"chatcmpl-{Guid.NewGuid():N}";
        string[] words = System.Text.RegularExpressions.Regex.Split($"big: {call.LastUserMessage}", "(?<= )");
        try
        {
            foreach (string word in words)
            {
                await SendEventAsync(response, StreamChunk(id, call, [new { index = 0, delta = new { content = word }, finish_reason = (string?)null }]));
                await Task.Delay(_chunkDelay, Stopping);
            }

            await SendEventAsync(response, StreamChunk(id, call, [new { index = 0, delta = new { content = "" }, finish_reason = (string?)"stop" }]));
            // As OpenAI's API does when asked (stream_options.include_usage): the usage in a last chunk of no choices.
            if ((bool?)call.Body["stream_options"]?["include_usage"] == true)
            {
                await SendEventAsync(response, StreamChunk(id, call, [], Usage));
            }

            await response.OutputStream.WriteAsync("data: [DONE]\n\n"u8.ToArray(), Stopping);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _abandoned);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static object StreamChunk(string id, ChatCall call, object[] choices, object? usage = null) =>
        new { id, @object = "chat.completion.chunk", created = 1_795_000_000, model = call.Model, choices, usage };

    private async Task SendEventAsync(HttpListenerResponse response, object chunk)
    {
        byte[] data = System.Text.Encoding.UTF8.GetBytes($"data: {JsonSerializer.Serialize(chunk)}\n\n");
        await response.OutputStream.WriteAsync(data, Stopping);
        await response.OutputStream.FlushAsync(Stopping);
    }

    private static object Completion(ChatCall call) => new
    {
        id = $"chatcmpl-{Guid.NewGuid():N}",
        @object = "chat.completion",
        created = 1_795_000_000,
        model = call.Model,
        choices = new[]
        {
            new { index = 0, message = new { role = "assistant", content = $"big: {call.LastUserMessage}" }, finish_reason = "stop" },
        },
        usage = Usage,
    };

    private static readonly object Usage = new { prompt_tokens = 11, completion_tokens = 5, total_tokens = 16 };
}
