using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace EdgeLlm.Core;

/// <summary>Small JSON documents written straight to bytes, for payloads that go on the wire, and read from outside.</summary>
public static class JsonPayload
{
    // Text stays readable on the wire ("é", "+", "<"); MQTT payloads are not embedded in HTML.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            write(json);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Parses JSON from outside (a payload, a model's file), refusing what is not UTF-8 as it refuses bad syntax:
    /// JsonDocument checks only the syntax, and a string holding bad UTF-8 throws InvalidOperationException
    /// later, when it is read, wherever that is.
    /// </summary>
    /// <exception cref="JsonException">Not JSON, or not UTF-8.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json)
    {
        return Utf8Problem(json.Span) is string problem ? throw new JsonException(problem) : JsonDocument.Parse(json);
    }

    /// <inheritdoc cref="Parse(ReadOnlyMemory{byte})"/>
    public static JsonDocument Parse(ReadOnlySequence<byte> json) => Parse(json.IsSingleSegment ? json.First : json.ToArray());

    /// <summary>Null when <paramref name="text"/> is UTF-8; else which byte is not.</summary>
    public static string? Utf8Problem(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text))
        {
            return null;
        }

        int at = 0;
        while (Rune.DecodeFromUtf8(text[at..], out _, out int consumed) == OperationStatus.Done)
        {
            at += consumed;
        }

        return $"not valid UTF-8 (at byte {at})";
    }
}
