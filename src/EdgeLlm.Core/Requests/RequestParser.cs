using System.Buffers;
using System.Text;
using System.Text.Unicode;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Core.Requests;

/// <summary>A request, or why the payload is not one; either way the format to answer in.</summary>
public sealed record ParsedRequest(RequestFormat Format, Request? Request, Failure? Failure)
{
    public static ParsedRequest Refused(RequestFormat format, string? id, ErrorCode code, string message) => new(format, null, new Failure(id, code, message));
}

/// <summary>
/// Turns an MQTT payload into a <see cref="Request"/> (docs/design.md §3): plain text is a prompt with default
/// requirements, a JSON object is a <see cref="RequestEnvelope"/>. Whatever is wrong becomes a
/// <see cref="Failure"/> naming the problem.
/// </summary>
public static class RequestParser
{
    // An envelope may carry a few kilobytes of fields and escapes besides its prompt.
    private const int EnvelopeAllowanceBytes = 4096;

    public static ParsedRequest Parse(ReadOnlySequence<byte> payload, int maxPromptBytes)
    {
        if (payload.Length > maxPromptBytes + EnvelopeAllowanceBytes)
        {
            // Refused unread: the format is guessed from the first byte only.
            var format = FormatOf(payload.FirstSpan.TrimStart(" \t\r\n"u8));
            return ParsedRequest.Refused(format, null, ErrorCode.TooLarge, $"the payload's {payload.Length} bytes exceed the limit of {maxPromptBytes} bytes for a prompt");
        }

        byte[] bytes = payload.ToArray();
        var trimmed = bytes.AsSpan().TrimStart(" \t\r\n"u8);
        var requestFormat = FormatOf(trimmed);
        if (!Utf8.IsValid(bytes))
        {
            return ParsedRequest.Refused(requestFormat, null, ErrorCode.BadRequest, "the payload is not valid UTF-8");
        }

        if (requestFormat == RequestFormat.PlainText)
        {
            string text = Encoding.UTF8.GetString(bytes);
            if (string.IsNullOrWhiteSpace(text))
            {
                return ParsedRequest.Refused(requestFormat, null, ErrorCode.BadRequest, "the prompt is empty");
            }

            return bytes.Length > maxPromptBytes
                ? ParsedRequest.Refused(requestFormat, null, ErrorCode.TooLarge, $"the prompt's {bytes.Length} bytes exceed the limit of {maxPromptBytes}")
                : new ParsedRequest(requestFormat, new Request { Prompt = text, Format = requestFormat }, null);
        }

        return RequestEnvelope.Read(bytes, maxPromptBytes);
    }

    // A payload that opens like JSON was meant as an envelope: broken JSON is an error, not a prompt.
    private static RequestFormat FormatOf(ReadOnlySpan<byte> trimmed) =>
        trimmed.Length > 0 && trimmed[0] is (byte)'{' or (byte)'[' ? RequestFormat.Envelope : RequestFormat.PlainText;
}
