using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Requests;

/// <summary>A request, or why the payload is not one; either way the format to answer in.</summary>
public sealed record ParsedRequest(RequestFormat Format, Request? Request, Failure? Failure);

/// <summary>
/// Turns an MQTT payload into a <see cref="Request"/> (docs/design.md §3): plain text is a prompt with default
/// requirements, a JSON object is an envelope. Unknown envelope fields are ignored; everything else that is
/// wrong becomes a <see cref="Failure"/> naming the problem.
/// </summary>
public static class RequestParser
{
    public const int MaxIdLength = 128;
    public const int MaxTokensLimit = 65536;

    // An envelope may carry a few kilobytes of fields and escapes besides its prompt.
    private const int EnvelopeAllowanceBytes = 4096;

    public static ParsedRequest Parse(ReadOnlySequence<byte> payload, int maxPromptBytes)
    {
        if (payload.Length > maxPromptBytes + EnvelopeAllowanceBytes)
        {
            // Refused unread: the format is guessed from the first byte only.
            var format = FormatOf(payload.FirstSpan.TrimStart(" \t\r\n"u8));
            return Fail(format, null, ErrorCode.TooLarge, $"the payload's {payload.Length} bytes exceed the limit of {maxPromptBytes} bytes for a prompt");
        }

        byte[] bytes = payload.ToArray();
        var trimmed = bytes.AsSpan().TrimStart(" \t\r\n"u8);
        var requestFormat = FormatOf(trimmed);
        if (!Utf8.IsValid(bytes))
        {
            return Fail(requestFormat, null, ErrorCode.BadRequest, "the payload is not valid UTF-8");
        }

        if (requestFormat == RequestFormat.PlainText)
        {
            string text = Encoding.UTF8.GetString(bytes);
            if (string.IsNullOrWhiteSpace(text))
            {
                return Fail(requestFormat, null, ErrorCode.BadRequest, "the prompt is empty");
            }

            return bytes.Length > maxPromptBytes
                ? Fail(requestFormat, null, ErrorCode.TooLarge, $"the prompt's {bytes.Length} bytes exceed the limit of {maxPromptBytes}")
                : new ParsedRequest(requestFormat, new Request { Prompt = text, Format = requestFormat }, null);
        }

        return ParseEnvelope(bytes, maxPromptBytes);
    }

    // A payload that opens like JSON was meant as an envelope: broken JSON is an error, not a prompt.
    private static RequestFormat FormatOf(ReadOnlySpan<byte> trimmed) =>
        trimmed.Length > 0 && trimmed[0] is (byte)'{' or (byte)'[' ? RequestFormat.Envelope : RequestFormat.PlainText;

    private static ParsedRequest ParseEnvelope(byte[] bytes, int maxPromptBytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            return Fail(RequestFormat.Envelope, null, ErrorCode.BadRequest, $"the payload is not valid JSON ({e.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Fail(RequestFormat.Envelope, null, ErrorCode.BadRequest, $"a JSON request must be an object (an envelope), not {Article(root.ValueKind)}");
            }

            var fields = new EnvelopeFields(root);
            string? id = null;
            try
            {
                id = fields.String("id");
                if (id is { Length: > MaxIdLength })
                {
                    id = null;
                    throw new EnvelopeException($"id is longer than {MaxIdLength} characters");
                }

                string prompt = fields.String("prompt") ?? throw new EnvelopeException("prompt is missing");
                if (string.IsNullOrWhiteSpace(prompt))
                {
                    throw new EnvelopeException("prompt is empty");
                }

                string? system = fields.String("system");
                var request = new Request
                {
                    Format = RequestFormat.Envelope,
                    Id = id,
                    Prompt = prompt,
                    System = system,
                    Domain = fields.String("domain"),
                    Subdomain = fields.String("subdomain"),
                    MaxTokens = fields.Integer("maxTokens", 1, MaxTokensLimit),
                    Temperature = (float?)fields.Number("temperature", 0, 2),
                    MaxLatencyMs = fields.Integer("maxLatencyMs", 1, int.MaxValue),
                    MinQuality = fields.Number("minQuality", 0, 1),
                    MaxCost = fields.Number("maxCost", 0, double.MaxValue),
                    Privacy = fields.Privacy("privacy"),
                };

                int promptBytes = Encoding.UTF8.GetByteCount(prompt) + (system is null ? 0 : Encoding.UTF8.GetByteCount(system));
                return promptBytes > maxPromptBytes
                    ? Fail(RequestFormat.Envelope, id, ErrorCode.TooLarge, $"the prompt's {promptBytes} bytes exceed the limit of {maxPromptBytes}")
                    : new ParsedRequest(RequestFormat.Envelope, request, null);
            }
            catch (EnvelopeException e)
            {
                return Fail(RequestFormat.Envelope, id, ErrorCode.BadRequest, e.Message);
            }
        }
    }

    private static ParsedRequest Fail(RequestFormat format, string? id, ErrorCode code, string message) =>
        new(format, null, new Failure(id, code, message));

    private static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };

    private sealed class EnvelopeException(string message) : Exception(message);

    private readonly struct EnvelopeFields(JsonElement root)
    {
        public string? String(string name) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } value => value.GetString(),
            _ => throw new EnvelopeException($"{name} must be a string"),
        };

        public int? Integer(string name, int min, int max) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt64(out long number) && number >= min && number <= max => (int)number,
            _ => throw new EnvelopeException($"{name} must be a whole number from {min} to {max}"),
        };

        public double? Number(string name, double min, double max) => Get(name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.Number } value when value.GetDouble() is var number && number >= min && number <= max => value.GetDouble(),
            _ => throw new EnvelopeException(max == double.MaxValue ? $"{name} must be a number of at least {min}" : $"{name} must be a number from {min} to {max}"),
        };

        public Privacy Privacy(string name) => String(name) switch
        {
            null or "any" => Requests.Privacy.Any,
            "fleet" => Requests.Privacy.Fleet,
            "local" => Requests.Privacy.Local,
            var other => throw new EnvelopeException($"{name} must be \"any\", \"fleet\" or \"local\", not \"{other}\""),
        };

        // A field set to null counts as absent.
        private JsonElement? Get(string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }
}
