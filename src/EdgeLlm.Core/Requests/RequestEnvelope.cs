using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Requests;

/// <summary>
/// The request envelope (docs/design.md §3), read by the parser and written by a node that sends a request up a
/// tier, from the one description in <see cref="EnvelopeJson"/>; its checks are a step after the read. Unknown
/// fields are ignored; a field set to null counts as absent.
/// </summary>
public static class RequestEnvelope
{
    public const int MaxIdLength = 128;
    public const int MaxTokensLimit = 65536;
    public const int MaxMessages = 1024;

    internal const int MaxDepth = 16;

    private static readonly EnvelopeJson Json = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = MaxDepth,

        // Text stays readable on the wire ("é", "+", "<"); MQTT payloads are not embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    private static readonly Bound[] Bounds =
    [
        Bound.Whole("maxTokens", e => e.MaxTokens, 1, MaxTokensLimit),
        Bound.Number("temperature", e => e.Temperature, 0, 2),
        Bound.Whole("maxLatencyMs", e => e.MaxLatencyMs, 1, int.MaxValue),
        Bound.Number("minQuality", e => e.MinQuality, 0, 1),
        Bound.Number("maxCost", e => e.MaxCost, 0, double.MaxValue),
    ];

    // Fields whose wrong kind is not "must be a string" (the numbers' words come from their bounds).
    private static readonly Dictionary<string, string> KindProblems = new()
    {
        ["stream"] = "stream must be true or false",
        ["messages"] = "messages must be an array of {\"role\", \"content\"} objects whose role and content are strings",
    };

    /// <summary>
    /// The envelope a node sends up a tier: the request's chat as messages, never its conversation id (the
    /// node that keeps a conversation sends its turns; the upstream keeps nothing).
    /// </summary>
    public static byte[] Write(Request request) => JsonSerializer.SerializeToUtf8Bytes(
        new EnvelopeFields
        {
            Id = request.Id,
            Prompt = request.Prompt,
            Messages = request.Messages.Count == 0 ? null : [.. request.Messages.Select(m => (MessageFields?)new MessageFields { Role = m.Role, Content = m.Content })],
            Stream = request.Stream ? true : null,
            System = request.System,
            Domain = request.Domain,
            Subdomain = request.Subdomain,
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature,
            MaxLatencyMs = request.MaxLatencyMs,
            MinQuality = request.MinQuality,
            MaxCost = request.MaxCost,
            Privacy = request.Privacy switch { Privacy.Fleet => "fleet", Privacy.Local => "local", _ => "any" },
        },
        Json.EnvelopeFields);

    /// <summary>An envelope from valid UTF-8 that opens with '{' or '['.</summary>
    internal static ParsedRequest Read(byte[] json, int maxPromptBytes)
    {
        EnvelopeFields fields;
        try
        {
            // Never the literal null: the payload opens with '{' or '['.
            fields = JsonSerializer.Deserialize(json, Json.EnvelopeFields)!;
        }
        catch (JsonException refusal)
        {
            return Refused(JsonFault.Of(refusal, json, MaxDepth), json);
        }

        return Check(fields, maxPromptBytes);
    }

    private static ParsedRequest Check(EnvelopeFields fields, int maxPromptBytes)
    {
        string? id = fields.Id;
        if (id is { Length: > MaxIdLength })
        {
            return BadRequest(null, $"id is longer than {MaxIdLength} characters");
        }

        if (fields.Conversation is { } conversation && (conversation.Length is 0 or > MaxIdLength))
        {
            return BadRequest(id, $"conversation must be 1 to {MaxIdLength} characters");
        }

        if (MessagesProblem(fields.Messages) is string messagesProblem)
        {
            return BadRequest(id, messagesProblem);
        }

        var messages = fields.Messages?.Select(m => new ChatTurn(m!.Role!, m.Content!)).ToArray() ?? [];
        string? prompt = fields.Prompt;
        if (prompt is null && messages.Length == 0)
        {
            return BadRequest(id, "prompt is missing");
        }

        if (prompt is not null && string.IsNullOrWhiteSpace(prompt))
        {
            return BadRequest(id, "prompt is empty");
        }

        if (prompt is null && messages[^1].Role != ChatTurn.User)
        {
            return BadRequest(id, "the messages must end with a user turn when no prompt follows them");
        }

        if (Bounds.FirstOrDefault(b => !b.Holds(fields)) is Bound broken)
        {
            return BadRequest(id, broken.Problem);
        }

        Privacy? privacy = fields.Privacy switch
        {
            null or "any" => Privacy.Any,
            "fleet" => Privacy.Fleet,
            "local" => Privacy.Local,
            _ => null,
        };
        if (privacy is null)
        {
            return BadRequest(id, $"privacy must be \"any\", \"fleet\" or \"local\", not \"{fields.Privacy}\"");
        }

        var request = new Request
        {
            Format = RequestFormat.Envelope,
            Id = id,
            Prompt = prompt,
            Messages = messages,
            Stream = fields.Stream ?? false,
            Conversation = fields.Conversation,
            System = fields.System,
            Domain = fields.Domain,
            Subdomain = fields.Subdomain,
            MaxTokens = (int?)fields.MaxTokens,
            Temperature = fields.Temperature,
            MaxLatencyMs = (int?)fields.MaxLatencyMs,
            MinQuality = fields.MinQuality,
            MaxCost = fields.MaxCost,
            Privacy = privacy.Value,
        };
        int promptBytes = request.ContentBytes;
        return promptBytes > maxPromptBytes
            ? ParsedRequest.Refused(RequestFormat.Envelope, id, ErrorCode.TooLarge, $"the prompt's {promptBytes} bytes exceed the limit of {maxPromptBytes}")
            : new ParsedRequest(RequestFormat.Envelope, request, null);
    }

    private static string? MessagesProblem(List<MessageFields?>? messages)
    {
        if (messages is null)
        {
            return null;
        }

        if (messages.Count > MaxMessages)
        {
            return $"messages holds {messages.Count} turns; at most {MaxMessages} are taken";
        }

        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not { Role: string role, Content: string })
            {
                return $"messages[{i}] needs a role and a content";
            }

            if (!ChatTurn.IsRole(role))
            {
                return $"messages[{i}].role must be \"system\", \"user\" or \"assistant\", not \"{role}\"";
            }
        }

        return null;
    }

    private static ParsedRequest Refused(JsonFault fault, byte[] json)
    {
        if (fault.SyntaxError is string syntax)
        {
            return BadRequest(null, $"the payload is not valid JSON ({syntax})");
        }

        if (fault.Path.Length == 0)
        {
            return BadRequest(null, "a JSON request must be an object (an envelope), not an array");
        }

        // A field of the wrong kind gets the same words as one out of its bounds; the answer still carries the id.
        string field = fault.Path[0];
        string problem = Bounds.FirstOrDefault(b => b.Field == field)?.Problem ?? KindProblems.GetValueOrDefault(field) ?? $"{field} must be a string";
        return BadRequest(field == "id" ? null : RecoverId(json), problem);
    }

    private static string? RecoverId(byte[] json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, Json.EnvelopeId)?.Id is { Length: <= MaxIdLength } id ? id : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ParsedRequest BadRequest(string? id, string message) => ParsedRequest.Refused(RequestFormat.Envelope, id, ErrorCode.BadRequest, message);

    /// <summary>A numeric field's bounds: one rule for a value out of them and for a value of the wrong kind.</summary>
    private sealed record Bound(string Field, Func<EnvelopeFields, double?> Value, double Min, double Max, string Problem)
    {
        public static Bound Whole(string field, Func<EnvelopeFields, double?> value, int min, int max) =>
            new(field, value, min, max, $"{field} must be a whole number from {min} to {max}");

        public static Bound Number(string field, Func<EnvelopeFields, double?> value, double min, double max) =>
            new(field, value, min, max, max == double.MaxValue
                ? $"{field} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}"
                : $"{field} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

        public bool Holds(EnvelopeFields fields) => Value(fields) is not double value || (value >= Min && value <= Max);
    }
}

/// <summary>The envelope's fields as they are on the wire, before any check.</summary>
internal sealed class EnvelopeFields
{
    public string? Id { get; init; }

    public string? Prompt { get; init; }

    public string? System { get; init; }

    public string? Domain { get; init; }

    public string? Subdomain { get; init; }

    // Whole numbers are read as long so that 1e12 is out of bounds rather than a different kind of fault.
    public long? MaxTokens { get; init; }

    public float? Temperature { get; init; }

    public long? MaxLatencyMs { get; init; }

    public double? MinQuality { get; init; }

    public double? MaxCost { get; init; }

    public string? Privacy { get; init; }

    public bool? Stream { get; init; }

    // A list, not an array: its elements may be null on the wire, and the check names the one that is.
    public List<MessageFields?>? Messages { get; init; }

    public string? Conversation { get; init; }
}

/// <summary>One of the envelope's messages as it is on the wire.</summary>
internal sealed class MessageFields
{
    public string? Role { get; init; }

    public string? Content { get; init; }
}

/// <summary>Just the id, to answer a refused envelope under the requester's id.</summary>
internal sealed class EnvelopeId
{
    public string? Id { get; init; }
}

[JsonSerializable(typeof(EnvelopeFields))]
[JsonSerializable(typeof(EnvelopeId))]
internal sealed partial class EnvelopeJson : JsonSerializerContext;
