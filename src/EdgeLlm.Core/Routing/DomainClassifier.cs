using EdgeLlm.Core.Catalog;

namespace EdgeLlm.Core.Routing;

/// <summary>
/// Finds a prompt's domain from the catalog's keywords: the domain with the most keyword hits (whole words,
/// case-insensitive), the first listed on a tie; "general" when none matches.
/// </summary>
internal static class DomainClassifier
{
    public const string General = "general";

    public static string Classify(string prompt, ModelCatalog catalog)
    {
        string text = $" {Normalise(prompt)} ";
        string best = General;
        int bestHits = 0;
        foreach (var (domain, keywords) in catalog.DomainKeywords)
        {
            int hits = keywords.Count(k => text.Contains($" {k} ", StringComparison.Ordinal));
            if (hits > bestHits)
            {
                best = domain;
                bestHits = hits;
            }
        }

        return best;
    }

    // Lower case, every run of non-letters and non-digits one space, so that keywords match whole words.
    internal static string Normalise(string text)
    {
        var buffer = new char[text.Length];
        int length = 0;
        bool space = true;
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                buffer[length++] = char.ToLowerInvariant(c);
                space = false;
            }
            else if (!space)
            {
                buffer[length++] = ' ';
                space = true;
            }
        }

        return new string(buffer, 0, length);
    }
}
