using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>One chat completion call as the server received it.</summary>
internal sealed record ChatCall(string Model, string? Authorization, JsonObject Body)
{
    public string LastUserMessage => Body["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();
}

/// <summary>
/// An OpenAI-compatible server (POST /v1/chat/completions, the subset vLLM, Ollama and llama.cpp's server
/// share) on a free loopback port, standing in for a data-centre tier: it answers "big: {prompt}", counts and
/// records its calls, and can be made slow or failing.
/// </summary>
internal sealed class FakeOpenAiServer : LoopbackHttpServer
{
    private readonly ConcurrentQueue<ChatCall> _calls = new();
    private readonly Channel<ChatCall> _arrivals = Channel.CreateUnbounded<ChatCall>();
    private readonly TimeSpan _delay;
    private readonly HttpStatusCode _status;

    private FakeOpenAiServer(TimeSpan delay, HttpStatusCode status)
    {
        _delay = delay;
        _status = status;
    }

    public string Endpoint => $"{BaseUrl}/v1";

    public int Count => _calls.Count;

    public IReadOnlyCollection<ChatCall> Calls => _calls;

    /// <param name="delay">How long each answer takes.</param>
    /// <param name="status">The HTTP status every call gets (200: an answer; else an OpenAI error body).</param>
    public static FakeOpenAiServer Start(TimeSpan? delay = null, HttpStatusCode status = HttpStatusCode.OK) => new(delay ?? TimeSpan.Zero, status);

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
        response.ContentType = "application/json";
        object reply = _status == HttpStatusCode.OK ? Completion(call) : new { error = new { message = "the model is overloaded", type = "server_error" } };
        await JsonSerializer.SerializeAsync(response.OutputStream, reply);
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
        usage = new { prompt_tokens = 11, completion_tokens = 5, total_tokens = 16 },
    };
}
