using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Requests;

namespace EdgeLlm.Core.Replies;

/// <summary>
/// Writes a reply in the request's format (docs/design.md §3): the answer text or "error: code: message" for
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
            Relayed relayed => PlainText(relayed),
            CommandResult result => result.Result,
            _ => throw new ArgumentException($"unknown reply {reply.GetType().Name}", nameof(reply)),
        }),
        _ => reply is Relayed relayed ? RelayedEnvelope(relayed) : Envelope(reply),
    };

    private static string PlainText(Relayed relayed)
    {
        if (relayed.Error is not ErrorCode code)
        {
            return TextOf(relayed) ?? "";
        }

        using var envelope = JsonDocument.Parse(relayed.Envelope);
        var root = envelope.RootElement;
        return $"error: {code.ToWireName()}: {(root.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message) ? message.GetString() : "")}";
    }

    // The upstream's envelope field for field, but the id (the requester's) and the route (this node's, with the upstream's inside).
    private static byte[] RelayedEnvelope(Relayed relayed) => JsonPayload.Write(json =>
    {
        using var envelope = JsonDocument.Parse(relayed.Envelope);
        json.WriteStartObject();
        WriteId(json, relayed.RequestId);
        foreach (var property in envelope.RootElement.EnumerateObject())
        {
            // The chunk count and the conversation are this node's: it streamed the chunks and keeps the turns.
            if (property.Name is not ("id" or "route" or "chunks" or "conversation"))
            {
                property.WriteTo(json);
            }
        }

        if (relayed.Error is null)
        {
            WriteRoute(json, relayed.Route, envelope.RootElement.TryGetProperty("route", out var upstream) ? upstream : null);
        }

        WriteStreamAndConversation(json, relayed);
        json.WriteEndObject();
    });

    /// <summary>The text of an upstream's answer; null for an error or an envelope without text.</summary>
    public static string? TextOf(Relayed relayed)
    {
        if (relayed.Error is not null)
        {
            return null;
        }

        using var envelope = JsonDocument.Parse(relayed.Envelope);
        return envelope.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String ? text.GetString() : null;
    }

    /// <summary>A chunk message's payload (docs/design.md §3a).</summary>
    public static byte[] Format(Chunk chunk) => JsonPayload.Write(json =>
    {
        json.WriteStartObject();
        WriteId(json, chunk.RequestId);
        json.WriteNumber("seq", chunk.Seq);
        if (chunk.Node is string node)
        {
            json.WriteString("node", node);
        }

        if (chunk.PrefillProgress is double progress)
        {
            json.WriteString("state", Chunk.PrefillState);
            json.WriteNumber("progress", Math.Round(progress, 3));
        }
        else
        {
            json.WriteString("delta", chunk.Delta ?? "");
        }

        json.WriteEndObject();
    });

    private static byte[] Envelope(Reply reply) => JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            WriteId(json, reply.RequestId);

            switch (reply)
            {
                case Answer answer:
                    json.WriteString("text", answer.Text);
                    json.WriteString("finishReason", answer.FinishReason);
                    json.WriteString("node", answer.Node);
                    json.WriteNumber("tier", answer.Tier);
                    json.WriteString("model", answer.Model);
                    WriteRoute(json, answer.Route, upstream: null);
                    json.WriteStartObject("usage");
                    json.WriteNumber("promptTokens", answer.Usage.PromptTokens);
                    json.WriteNumber("completionTokens", answer.Usage.CompletionTokens);
                    if (answer.Usage.CachedPromptTokens is int cached)
                    {
                        json.WriteNumber("cachedPromptTokens", cached);
                    }

                    json.WriteEndObject();
                    json.WriteNumber("latencyMs", answer.LatencyMs);
                    break;
                case CommandResult result:
                    json.WriteString("command", result.Command);
                    json.WriteString("model", result.Model);
                    json.WriteString("outcome", result.Outcome);
                    json.WriteString("result", result.Result);
                    break;
                case Failure failure:
                    json.WriteStartObject("error");
                    json.WriteString("code", failure.Code.ToWireName());
                    json.WriteString("message", failure.Message);
                    json.WriteEndObject();
                    break;
            }

            WriteStreamAndConversation(json, reply);
            json.WriteEndObject();
        });

    private static void WriteStreamAndConversation(Utf8JsonWriter json, Reply reply)
    {
        if (reply.Chunks is int chunks)
        {
            json.WriteNumber("chunks", chunks);
        }

        if (reply.Conversation is { } conversation)
        {
            json.WriteStartObject("conversation");
            json.WriteString("id", conversation.Id);
            json.WriteNumber("turn", conversation.Turn);
            json.WriteBoolean("new", conversation.New);
            json.WriteNumber("droppedTurns", conversation.DroppedTurns);
            json.WriteEndObject();
        }
    }

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

    private static void WriteId(Utf8JsonWriter json, string? id)
    {
        if (id is null)
        {
            json.WriteNull("id");
        }
        else
        {
            json.WriteString("id", id);
        }
    }

    private static void WriteRoute(Utf8JsonWriter json, Route route, JsonElement? upstream)
    {
        json.WriteStartObject("route");
        json.WriteString("decision", route.Decision);
        json.WriteStartArray("reasons");
        foreach (string reason in route.Reasons)
        {
            json.WriteStringValue(reason);
        }

        json.WriteEndArray();
        if (route.Predicted is { } predicted)
        {
            json.WriteStartObject("predicted");
            WriteNumberOrNull(json, "latencyMs", predicted.LatencyMs);
            WriteNumberOrNull(json, "quality", predicted.Quality);
            WriteNumberOrNull(json, "cost", predicted.Cost);
            json.WriteEndObject();
        }

        json.WriteBoolean("degraded", route.Degraded);
        if (upstream is JsonElement inner)
        {
            json.WritePropertyName("upstream");
            inner.WriteTo(json);
        }

        json.WriteEndObject();
    }
}
