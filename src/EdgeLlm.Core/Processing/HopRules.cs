namespace EdgeLlm.Core.Processing;

/// <summary>docs/design.md §4's hop rules for a request that came through other nodes: no loops, no more than Upstream:MaxHops hops.</summary>
internal static class HopRules
{
    /// <summary>Why the request may go no further (it is answered with that, never run nor sent on); null when it may.</summary>
    /// <param name="path">The nodes it went through, first to last.</param>
    public static string? Broken(IReadOnlyList<string> path, string self, int maxHops) =>
        path.Contains(self, StringComparer.Ordinal) ? $"escalation loop: the request went {string.Join(" > ", path)} and came back to {self}"
        : path.Count > maxHops ? $"the request took {path.Count} hops ({string.Join(" > ", path)}), more than Upstream:MaxHops ({maxHops})"
        : null;

    /// <summary>Whether sending it on from here stays within <paramref name="maxHops"/>.</summary>
    public static bool MaySendOn(IReadOnlyList<string> path, int maxHops) => path.Count + 1 <= maxHops;
}
