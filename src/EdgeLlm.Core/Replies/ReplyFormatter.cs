using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Replies;

/// <summary>
/// Writes a reply in the request's format (DESIGN.md §3): the answer text or "error: code: message" for
/// plain text, the answer or error envelope as JSON for an envelope.
/// </summary>
public static class ReplyFormatter
{
    public static byte[] Format(Reply reply, RequestFormat format) => format switch
    {
        RequestFormat.PlainText => Encoding.UTF8.GetBytes(reply switch
        {
            Answer answer => answer.Text,
            Failure failure => $"error: {failure.Code.ToWireName()}: {failure.Message}",
            _ => throw new ArgumentException($"unknown reply {reply.GetType().Name}", nameof(reply)),
        }),
        _ => Envelope(reply),
    };

    private static byte[] Envelope(Reply reply) => JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            if (reply.RequestId is null)
            {
                json.WriteNull("id");
            }
            else
            {
                json.WriteString("id", reply.RequestId);
            }

            switch (reply)
            {
                case Answer answer:
                    json.WriteString("text", answer.Text);
                    json.WriteString("finishReason", answer.FinishReason);
                    json.WriteString("node", answer.Node);
                    json.WriteNumber("tier", answer.Tier);
                    json.WriteString("model", answer.Model);
                    json.WriteStartObject("route");
                    json.WriteString("decision", answer.Route.Decision);
                    json.WriteStartArray("reasons");
                    foreach (string reason in answer.Route.Reasons)
                    {
                        json.WriteStringValue(reason);
                    }

                    json.WriteEndArray();
                    if (answer.Route.Predicted is { } predicted)
                    {
                        json.WriteStartObject("predicted");
                        WriteNumberOrNull(json, "latencyMs", predicted.LatencyMs);
                        WriteNumberOrNull(json, "quality", predicted.Quality);
                        WriteNumberOrNull(json, "cost", predicted.Cost);
                        json.WriteEndObject();
                    }

                    json.WriteBoolean("degraded", answer.Route.Degraded);
                    json.WriteEndObject();
                    json.WriteStartObject("usage");
                    json.WriteNumber("promptTokens", answer.Usage.PromptTokens);
                    json.WriteNumber("completionTokens", answer.Usage.CompletionTokens);
                    json.WriteEndObject();
                    json.WriteNumber("latencyMs", answer.LatencyMs);
                    break;
                case Failure failure:
                    json.WriteStartObject("error");
                    json.WriteString("code", failure.Code.ToWireName());
                    json.WriteString("message", failure.Message);
                    json.WriteEndObject();
                    break;
            }

            json.WriteEndObject();
        });

    public static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
