using System.Buffers;
using System.Text.Json;

namespace EdgeLlm.Core.Tests;

/// <summary>JSON read from outside: bad UTF-8 is refused when parsed, as bad syntax is, not met later.</summary>
public sealed class JsonPayloadTests
{
    // {"id": "a<0xC3 0x28>"}: a two-byte lead followed by a byte that cannot continue it, at offset 9.
    private static readonly byte[] BadUtf8InAString = [.. "{\"id\": \"a"u8, 0xC3, 0x28, .. "\"}"u8];

    [Fact]
    public void Parse_RefusesBadUtf8InsideAString_WhichJsonDocumentAloneThrowsOnlyWhenTheStringIsRead()
    {
        using (var plain = JsonDocument.Parse(BadUtf8InAString))
        {
            Assert.Throws<InvalidOperationException>(() => plain.RootElement.GetProperty("id").GetString());
        }

        var refusal = Assert.Throws<JsonException>(() => JsonPayload.Parse(BadUtf8InAString.AsMemory()));

        Assert.Equal("not valid UTF-8 (at byte 9)", refusal.Message);
    }

    [Fact]
    public void Parse_OfASequenceInSegments_ReadsItWhole()
    {
        var first = new Segment("{\"id\": \"é"u8.ToArray());
        var last = first.Append("\"}"u8.ToArray());

        using var json = JsonPayload.Parse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));

        Assert.Equal("é", json.RootElement.GetProperty("id").GetString());
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x7D }, null)]
    [InlineData(new byte[] { 0xFF }, "not valid UTF-8 (at byte 0)")]
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, "not valid UTF-8 (at byte 1)")]
    public void Utf8Problem_NamesTheFirstByteThatIsNot(byte[] text, string? problem) =>
        Assert.Equal(problem, JsonPayload.Utf8Problem(text));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes) => Memory = bytes;

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
