using System.Globalization;

namespace EdgeLlm.Core.Catalog;

/// <summary>
/// What each catalog field must be, in the words an error uses: the same words for a value of the wrong kind
/// (found by the read) and for one out of bounds (found by the checks after it).
/// </summary>
internal static class CatalogRules
{
    public static readonly NumberRule Tier = NumberRule.Whole("tier", 0, 9);
    public static readonly NumberRule Parameters = NumberRule.Whole("parameters", 1);
    public static readonly NumberRule Bytes = NumberRule.Whole("bytes", 0);
    public static readonly NumberRule RamBytes = NumberRule.Whole("ramBytes", 1);
    public static readonly NumberRule KvBytesPerToken = NumberRule.Whole("kvBytesPerToken", 0);
    public static readonly NumberRule ContextLength = NumberRule.Whole("contextLength", 1, int.MaxValue);
    public static readonly NumberRule CostPer1kTokens = new("costPer1kTokens", v => v >= 0, "must be a number at least 0");
    public static readonly NumberRule DecodeRate = new("decodeTokensPerSecond", v => v > 0, "must be a number above 0");
    public static readonly NumberRule PrefillRate = new("prefillTokensPerSecond", v => v > 0, "must be a number above 0");

    public const string Models = "expected an object with a \"models\" array";
    public const string DomainKeywords = "\"domainKeywords\" must map domains to arrays of keywords";
    public const string Keywords = "must be an array of non-empty strings";
    public const string Description = "expected an object describing the model (\"domains\" at least)";
    public const string Qualities = "must map names to a quality from 0 to 1";
    public const string Quality = "must be a quality from 0 to 1";
    public const string Rates = "must map board classes to {\"decodeTokensPerSecond\", \"prefillTokensPerSecond\"[, \"estimated\"]}";
    public const string Rate = "must be an object {\"decodeTokensPerSecond\", \"prefillTokensPerSecond\"[, \"estimated\"]}";
    public const string Contents = "must map file names to their sha256";
    public const string Sha256 = "must be 64 lowercase hex digits";
    public const string Sources = "must be an array of {\"url\", \"sha256\"}";
    public const string Source = "must be an object {\"url\", \"sha256\"}";

    private static readonly NumberRule[] Numbers = [Tier, Parameters, Bytes, RamBytes, KvBytesPerToken, ContextLength, CostPer1kTokens, DecodeRate, PrefillRate];

    /// <summary>The words for a plain field (a number, a flag or a string) that holds a value of the wrong kind.</summary>
    public static string ProblemOf(string field) =>
        Numbers.FirstOrDefault(r => r.Field == field)?.Problem ?? (field == "thirdParty" ? "must be true or false" : "must be a string");
}

/// <summary>A numeric field's bounds and the words that state them.</summary>
internal sealed record NumberRule(string Field, Func<double, bool> Holds, string Problem)
{
    public static NumberRule Whole(string field, long minimum, long? maximum = null) => new(
        field,
        v => v == Math.Floor(v) && v >= minimum && (maximum is null || v <= maximum),
        maximum is null
            ? $"must be a whole number at least {minimum.ToString(CultureInfo.InvariantCulture)}"
            : $"must be a whole number from {minimum.ToString(CultureInfo.InvariantCulture)} to {maximum.Value.ToString(CultureInfo.InvariantCulture)}");
}
