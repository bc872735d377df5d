using System.Globalization;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core.Processing;

/// <summary>
/// Runs one request on the model its route names, held for the generation only, and makes its reply: the
/// answer, or the failure (expired before it ran, past its deadline, too long a prompt, a model that cannot
/// be obtained or loaded, the node shut down), never an exception.
/// </summary>
internal sealed class LocalGeneration(IModelProvider models, AdmissionOptions admission, NodeOptions node, TimeProvider time, ILogger logger)
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

        try
        {
            using var model = await models.GetAsync(decision.Model ?? "", abort).ConfigureAwait(false);
            if (model is null)
            {
                return new Failure(request.Id, ErrorCode.NoModel, $"this node has no model {decision.Model} to answer with");
            }

            var response = await model.Client.GetResponseAsync([new ChatMessage(ChatRole.User, request.Prompt)], Options(submission), abort).ConfigureAwait(false);
            if (response.FinishReason == ChatDeadline.FinishReason)
            {
                return new Failure(request.Id, ErrorCode.Timeout, $"no answer within the deadline ({request.MaxLatencyMs?.ToString(CultureInfo.InvariantCulture) ?? "message expiry"} ms)");
            }

            return new Answer(
                request.Id,
                response.Text,
                response.FinishReason == ChatFinishReason.Length ? "length" : "stop",
                node.Id,
                node.Tier,
                model.Id,
                new Route("local", decision.Reasons, decision.Predicted, decision.Degraded),
                new Usage((int)(response.Usage?.InputTokenCount ?? 0), (int)(response.Usage?.OutputTokenCount ?? 0)),
                (long)(time.GetUtcNow() - submission.ReceivedAt).TotalMilliseconds);
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

    private ChatOptions Options(Submission submission)
    {
        var request = submission.Request;
        var options = new ChatOptions
        {
            MaxOutputTokens = request.MaxTokens ?? admission.DefaultMaxTokens,
            Temperature = request.Temperature,
            Instructions = request.System,
        };
        if (submission.Deadline is DateTimeOffset deadline)
        {
            options.AdditionalProperties = new() { [ChatDeadline.Property] = deadline };
        }

        return options;
    }
}
