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
/// it has, and the finish reason is <see cref="ChatDeadline.FinishReason"/>. It speaks the
/// <see cref="EngineProperties"/>: leaves out the oldest droppable messages when the chat would not fit the
/// context, tells the prompt's progress while it is read, and says how many prompt tokens came from the cache.
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
        int maxNewTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens;
        var (promptIds, dropped) = Fit([.. messages], options, maxNewTokens);
        var pieces = Channel.CreateUnbounded<Piece>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var settings = new GenerationSettings
        {
            MaxNewTokens = maxNewTokens,
            Temperature = options?.Temperature ?? 0f,
            Seed = options?.Seed is long seed ? unchecked((int)seed) : null,
            Deadline = ChatDeadline.Of(options),
            TimeProvider = _timeProvider,
            OnPrefill = progress => pieces.Writer.TryWrite(new Piece(null, progress)),
        };

        string responseId = Guid.NewGuid().ToString("N");
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
                        return _model.Generate(promptIds, settings, (_, piece) => pieces.Writer.TryWrite(new Piece(piece, null)), stop.Token);
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
            await foreach (var piece in pieces.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece.Text)
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = _model.Id,
                    CreatedAt = _timeProvider.GetUtcNow(),
                    AdditionalProperties = piece.Progress is double progress ? new() { [EngineProperties.PrefillProgress] = progress } : null,
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
                CachedInputTokenCount = result.CachedPromptTokens,
            })],
            AdditionalProperties = new()
            {
                [EngineProperties.CachedPromptTokens] = result.CachedPromptTokens,
                [EngineProperties.DroppedMessages] = dropped,
            },
        };
    }

    // The prompt's tokens, and how many of the oldest droppable messages were left out so that the prompt
    // leaves room to answer: the smaller of the tokens asked for and half the context.
    private (IReadOnlyList<int> PromptIds, int Dropped) Fit(List<ChatMessage> messages, ChatOptions? options, int maxNewTokens)
    {
        int droppable = options?.AdditionalProperties?.TryGetValue(EngineProperties.DroppableMessages, out int count) is true ? Math.Min(count, messages.Count - 1) : 0;
        int room = _model.Config.ContextLength - Math.Min(maxNewTokens, _model.Config.ContextLength / 2);
        int dropped = 0;
        while (true)
        {
            var promptIds = _model.Encode(FormatPrompt(messages.Skip(dropped), options));
            if (promptIds.Count <= room || dropped >= droppable)
            {
                return (promptIds, dropped);
            }

            // Whole exchanges go: up to the next user message.
            do
            {
                dropped++;
            }
            while (dropped < droppable && messages[dropped].Role != ChatRole.User);
        }
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

    /// <summary>What the generation thread hands the caller: a token's text, or the prompt's progress.</summary>
    private readonly record struct Piece(string? Text, double? Progress);

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }
}
