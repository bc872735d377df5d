using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EdgeLlm.Core;

/// <summary>Small JSON documents written straight to bytes, for payloads that go on the wire.</summary>
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
}
