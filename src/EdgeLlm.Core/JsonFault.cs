using System.Text.Json;
using System.Text.RegularExpressions;

namespace EdgeLlm.Core;

/// <summary>
/// Why a source-generated read refused a document: the text is not JSON (<see cref="SyntaxError"/>), or a value
/// has the wrong kind where <see cref="Path"/> points (the property names and indexes from the root down).
/// </summary>
internal sealed partial record JsonFault(string? SyntaxError, string[] Path)
{
    /// <summary>Tells the two apart, which the serializer does not: both are a <see cref="JsonException"/>.</summary>
    public static JsonFault Of(JsonException refusal, ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        try
        {
            while (reader.Read())
            {
            }
        }
        catch (JsonException syntax)
        {
            return new JsonFault(syntax.Message, []);
        }

        return new JsonFault(null, [.. Segment().Matches(refusal.Path ?? "$").Select(m => m.Groups["name"].Value)]);
    }

    // The serializer writes paths as $.a[0].b, and a name with dots or brackets in it as ['a.b'].
    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<name>.*?)'\]|\[(?<name>\d+)\]")]
    private static partial Regex Segment();
}
