using System.Diagnostics;
using System.Globalization;
using System.Text;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using EdgeLlm.Core.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// Runs one request on the model its route names, held for the generation only, and makes its reply: the
/// answer, or the failure (expired before it ran, past its deadline, too long a prompt, a model that cannot
/// be obtained or loaded, the node shut down), never an exception. A streamed request's text goes out in
/// chunks as it is written; a cancel, or a requester gone, stops the generation between tokens with what it
/// has written.
/// </summary>
internal sealed class LocalGeneration(IModelProvider models, AdmissionOptions admission, NodeOptions node, StreamingOptions streaming, NodeMetrics metrics, NodeCounters counters, TimeProvider time, ILogger logger)
{
    public async Task<Reply> RunAsync(Submission submission, Decision decision, CancellationToken abort)
    {
        var request = submission.Request;
        var now = time.GetUtcNow();
        if (abort.IsCancellationRequested)
        {
            return new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the request ran");
        }

        if (submission.Deadline <= now)
        {
            return new Failure(request.Id, ErrorCode.Timeout, $"the request expired after {(now - submission.ReceivedAt).TotalMilliseconds:F0} ms in the queue");
        }

        using var stream = request.Stream ? new ChunkStream(submission.ReplyTo, request.Id, streaming, time) : null;
        var reply = await GenerateAsync(submission, decision, stream, abort).ConfigureAwait(false);
        return stream is null ? reply : reply with { Chunks = stream.Complete() };
    }

    private async Task<Reply> GenerateAsync(Submission submission, Decision decision, ChunkStream? stream, CancellationToken abort)
    {
        var request = submission.Request;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(submission.Cancelled, stream?.RequesterGone ?? CancellationToken.None);
        var written = new Written();
        try
        {
            if (stop.IsCancellationRequested)
            {
                return Cancelled(submission, decision, decision.Model ?? "", written, stream);
            }

            // Current for this flow: an engine's own spans (an OpenAI-compatible server's call) hang under it.
            using var span = NodeTracing.Source.StartActivity("edgellm.generation", ActivityKind.Internal, submission.TraceContext);
            span?.SetTag("gen_ai.request.model", decision.Model);

            // A model that must be loaded first keeps the requester waiting too: the heartbeats start now.
            stream?.StartPrefill(node.Id);
            using var model = await models.GetAsync(decision.Model ?? "", abort).ConfigureAwait(false);
            if (model is null)
            {
                return new Failure(request.Id, ErrorCode.NoModel, $"this node has no model {decision.Model} to answer with");
            }

            using var either = CancellationTokenSource.CreateLinkedTokenSource(abort, stop.Token);
            try
            {
                await foreach (var update in model.Client.GetStreamingResponseAsync(Messages(request), Options(submission), either.Token).ConfigureAwait(false))
                {
                    written.Take(update, stream, time.GetUtcNow());
                }

                Measure(submission, model.Id, written);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested)
            {
                return Cancelled(submission, decision, model.Id, written, stream);
            }

            if (written.FinishReason == ChatDeadline.FinishReason)
            {
                return new Failure(request.Id, ErrorCode.Timeout, $"no answer within the deadline ({request.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "message expiry"} ms)");
            }

            return Answer(submission, decision, model.Id, written, written.FinishReason == ChatFinishReason.Length ? "length" : "stop");
        }
        catch (PromptTooLongException e)
        {
            return new Failure(request.Id, ErrorCode.TooLarge, e.Message);
        }
        catch (EngineUnavailableException e)
        {
            return new Failure(request.Id, ErrorCode.UpstreamUnavailable, e.Message);
        }
        catch (ModelUnavailableException e)
        {
            return new Failure(request.Id, ErrorCode.NoModel, e.Message);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            return new Failure(request.Id, ErrorCode.Timeout, "the node shut down before the answer was complete");
        }
        catch (Exception e)
        {
            Log.RunFailed(logger, e, request.Id ?? "(no id)");
            return new Failure(request.Id, ErrorCode.Internal, $"the model failed: {e.Message}");
        }
    }

    // Time to first token from the request's arrival, as its requester waits; the time per token after it.
    private void Measure(Submission submission, string model, Written written)
    {
        var firstToken = written.FirstTextAt - submission.ReceivedAt;
        int tokens = (int)(written.Usage?.OutputTokenCount ?? written.Pieces);
        var perToken = tokens > 1 && written.FirstTextAt is DateTimeOffset first ? (time.GetUtcNow() - first) / (tokens - 1) : (TimeSpan?)null;
        metrics.Generated(model, firstToken, perToken, (int)(written.Usage?.InputTokenCount ?? 0), tokens);
        if (perToken is TimeSpan each)
        {
            counters.Generated(tokens - 1, each.TotalSeconds * (tokens - 1));
        }
    }

    private Answer Cancelled(Submission submission, Decision decision, string model, Written written, ChunkStream? stream)
    {
        Log.Cancelled(logger, submission.Request.Id ?? "(no id)", stream?.RequesterGone.IsCancellationRequested is true ? "the requester is gone" : "cancelled by its requester");
        return Answer(submission, decision, model, written, Replies.Answer.Cancelled);
    }

    private Answer Answer(Submission submission, Decision decision, string model, Written written, string finishReason) => new(
        submission.Request.Id,
        written.Text.ToString(),
        finishReason,
        node.Id,
        node.Tier,
        model,
        new Route("local", decision.Reasons, decision.Predicted, decision.Degraded),
        new Usage((int)(written.Usage?.InputTokenCount ?? 0), (int)(written.Usage?.OutputTokenCount ?? written.Pieces), written.CachedPromptTokens),
        (long)(time.GetUtcNow() - submission.ReceivedAt).TotalMilliseconds)
    {
        DroppedMessages = written.DroppedMessages,
    };

    private static IEnumerable<ChatMessage> Messages(Requests.Request request) =>
        request.Turns.Select(turn => new ChatMessage(new ChatRole(turn.Role), turn.Content));

    private ChatOptions Options(Submission submission)
    {
        var request = submission.Request;
        var options = new ChatOptions
        {
            MaxOutputTokens = request.MaxTokens ?? admission.DefaultMaxTokens,
            Temperature = request.Temperature,
            Instructions = request.System,
            AdditionalProperties = [],
        };
        if (submission.Deadline is DateTimeOffset deadline)
        {
            options.AdditionalProperties[ChatDeadline.Property] = deadline;
        }

        if (request.KeptMessages > 0)
        {
            options.AdditionalProperties[EngineProperties.DroppableMessages] = request.KeptMessages;
        }

        return options;
    }

    /// <summary>What the engine has written so far, and what its updates said.</summary>
    private sealed class Written
    {
        public StringBuilder Text { get; } = new();

        public int Pieces { get; private set; }

        public ChatFinishReason? FinishReason { get; private set; }

        public UsageDetails? Usage { get; private set; }

        public int? CachedPromptTokens { get; private set; }

        public int DroppedMessages { get; private set; }

        /// <summary>When the first text came; null until it does.</summary>
        public DateTimeOffset? FirstTextAt { get; private set; }

        public void Take(ChatResponseUpdate update, ChunkStream? stream, DateTimeOffset now)
        {
            if (EngineProperties.Get<double>(update.AdditionalProperties, EngineProperties.PrefillProgress) is double progress)
            {
                stream?.Prefill(progress);
            }

            if (update.Text is { Length: > 0 } text)
            {
                FirstTextAt ??= now;
                Text.Append(text);
                Pieces++;
                stream?.Delta(text);
            }

            FinishReason = update.FinishReason ?? FinishReason;
            Usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? Usage;
            CachedPromptTokens = EngineProperties.Get<int>(update.AdditionalProperties, EngineProperties.CachedPromptTokens) ?? CachedPromptTokens;
            DroppedMessages = EngineProperties.Get<int>(update.AdditionalProperties, EngineProperties.DroppedMessages) ?? DroppedMessages;
        }
    }
}
