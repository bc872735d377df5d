using System.Text;
using EdgeLlm.Mqtt.Incoming;

namespace EdgeLlm.Mqtt.Tests.Incoming;

/// <summary>What a cancel is (docs/design.md §3a), and what is not one.</summary>
public sealed class CancelListenerTests
{
    [Fact]
    public void Read_ACancel_NamesItsId()
    {
        Assert.Equal(("s-5", null), CancelListener.Read("""{"id":"s-5","cancel":true,"extra":1}"""u8));
    }

    [Theory]
    [InlineData("""{"id":"s-5"}""", "not {\"id\": ..., \"cancel\": true}")]
    [InlineData("""{"id":"s-5","cancel":"yes"}""", "not {\"id\": ..., \"cancel\": true}")]
    [InlineData("""{"cancel":true}""", "its id must be a string of 1 to 128 characters")]
    [InlineData("""{"id":7,"cancel":true}""", "its id must be a string of 1 to 128 characters")]
    [InlineData("""[1,2]""", "not {\"id\": ..., \"cancel\": true}")]
    public void Read_NotACancel_SaysWhy(string payload, string problem)
    {
        Assert.Equal((null, problem), CancelListener.Read(Encoding.UTF8.GetBytes(payload)));
    }

    [Fact]
    public void Read_BrokenOrHugePayloads_AreRefusedUnread()
    {
        Assert.StartsWith("not valid JSON", CancelListener.Read("{\"id\":"u8).Problem, StringComparison.Ordinal);
        Assert.Equal("2000 bytes, more than a cancel's 1024", CancelListener.Read(new byte[2000]).Problem);
    }
}
