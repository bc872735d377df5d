using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using EdgeLlm.Core;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.AI;

namespace EdgeLlm.Onnx.Engine;

/// <summary>
/// Offers a <see cref="LocalModel"/> to the rest of the system as an <see cref="IChatClient"/>. Generations
/// take turns on the model; each runs on a worker thread while the caller awaits its tokens.
/// </summary>
/// <remarks>
/// Besides <see cref="ChatOptions.MaxOutputTokens"/>, <see cref="ChatOptions.Temperature"/> and
/// <see cref="ChatOptions.Seed"/>, it honours a <see cref="ChatDeadline"/>: generation stops there with what
/// it has, and the finish reason is <see cref="ChatDeadline.FinishReason"/>.
/// </remarks>
internal sealed class LocalChatClient : IChatClient
{
    public const int DefaultMaxOutputTokens = 128;

    private readonly LocalModel _model;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ChatClientMetadata _metadata;

    public LocalChatClient(LocalModel model, TimeProvider timeProvider)
    {
        _model = model;
        _timeProvider = timeProvider;
        _metadata = new ChatClientMetadata("edgellm-onnx", new Uri(Path.GetFullPath(model.Folder)), model.Id);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var promptIds = _model.Encode(FormatPrompt(messages, options));
        var settings = new GenerationSettings
        {
            MaxNewTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens,
            Temperature = options?.Temperature ?? 0f,
            Seed = options?.Seed is long seed ? unchecked((int)seed) : null,
            Deadline = ChatDeadline.Of(options),
            TimeProvider = _timeProvider,
        };

        string responseId = Guid.NewGuid().ToString("N");
        var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        // Stops the generation when the caller cancels or stops reading early.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<GenerationResult> generation;
        try
        {
            // A thread of its own: a generation blocks for seconds, and on a board with as many pool threads as
            // cores it would starve the status lights, the MQTT client and the timers of the thread pool (the
            // busy light was seen to stay dark through a whole answer on two cores).
            generation = Task.Factory.StartNew(
                () =>
                {
                    try
                    {
                        return _model.Generate(promptIds, settings, (_, piece) => pieces.Writer.TryWrite(piece), stop.Token);
                    }
                    finally
                    {
                        pieces.Writer.TryComplete();
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }
        catch
        {
            _turn.Release();
            throw;
        }

        GenerationResult result;
        try
        {
            await foreach (string piece in pieces.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece)
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = _model.Id,
                    CreatedAt = _timeProvider.GetUtcNow(),
                };
            }

            result = await generation.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // The turn passes on only once the generation has stopped using the model.
            await generation.ContinueWith(_ => _turn.Release(), TaskScheduler.Default).ConfigureAwait(false);
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = _model.Id,
            CreatedAt = _timeProvider.GetUtcNow(),
            FinishReason = result.FinishReason switch
            {
                FinishReason.Stop => ChatFinishReason.Stop,
                FinishReason.Length => ChatFinishReason.Length,
                _ => ChatDeadline.FinishReason,
            },
            Contents = [new UsageContent(new UsageDetails
            {
                InputTokenCount = result.PromptTokens,
                OutputTokenCount = result.TokenIds.Count,
                TotalTokenCount = result.PromptTokens + result.TokenIds.Count,
            })],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(LocalModel) ? _model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose() => _turn.Dispose();

    // A model with a chat template gets the messages through it; a completion model (llama2.c's stories)
    // continues the messages' text, instructions first, one message a line.
    private string FormatPrompt(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        if (_model.TokenizerFacts.HasChatTemplate)
        {
            byte[] messagesJson = JsonPayload.Write(json =>
            {
                json.WriteStartArray();
                if (options?.Instructions is string instructions)
                {
                    WriteMessage(json, ChatRole.System.Value, instructions);
                }

                foreach (var message in messages)
                {
                    WriteMessage(json, message.Role.Value, message.Text);
                }

                json.WriteEndArray();
            });
            return _model.ApplyChatTemplate(Encoding.UTF8.GetString(messagesJson));
        }

        var lines = new List<string>();
        if (options?.Instructions is string text)
        {
            lines.Add(text);
        }

        lines.AddRange(messages.Select(m => m.Text).Where(t => t.Length > 0));
        return string.Join('\n', lines);
    }

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }
}
