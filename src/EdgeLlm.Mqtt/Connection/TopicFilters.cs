
namespace EdgeLlm.Mqtt.Connection;

/// <summary>MQTT topic filter rules (MQTT 5 §4.7, §4.8.2).</summary>
internal static class TopicFilters
{
    private const string SharePrefix = "$share/";

    /// <summary>True for a shared subscription "$share/{group}/{filter}", on which MQTT 5 forbids NoLocal.</summary>
    public static bool IsShared(string filter) => filter.StartsWith(SharePrefix, StringComparison.Ordinal);

    /// <summary>
    /// True when <paramref name="topic"/> matches <paramref name="filter"/> (a shared filter by the filter it
    /// shares); wildcards at the first level do not match topics that begin with '$'.
    /// </summary>
    public static bool Matches(string filter, string topic)
    {
        if (IsShared(filter))
        {
            filter = filter[(filter.IndexOf('/', SharePrefix.Length) + 1)..];
        }

        if (topic.StartsWith('$') && filter.Length > 0 && filter[0] is '+' or '#')
        {
            return false;
        }

        string[] filterLevels = filter.Split('/');
        string[] topicLevels = topic.Split('/');
        for (int i = 0; i < filterLevels.Length; i++)
        {
            if (filterLevels[i] == "#")
            {
                return true;
            }

            if (i >= topicLevels.Length || (filterLevels[i] != "+" && filterLevels[i] != topicLevels[i]))
            {
                return false;
            }
        }

        return filterLevels.Length == topicLevels.Length;
    }

    /// <summary>'#' only as the last level, '+' only as a whole level, a shared filter with a group and a filter.</summary>
    public static bool IsValidFilter(string filter)
    {
        if (IsShared(filter))
        {
            int groupEnd = filter.IndexOf('/', SharePrefix.Length);
            if (groupEnd <= SharePrefix.Length || filter.AsSpan(SharePrefix.Length, groupEnd - SharePrefix.Length).IndexOfAny("#+") >= 0)
            {
                return false;
            }

            filter = filter[(groupEnd + 1)..];
        }

        if (filter.Length == 0)
        {
            return false;
        }

        string[] levels = filter.Split('/');
        for (int i = 0; i < levels.Length; i++)
        {
            string level = levels[i];
            if (level.Contains('#') && (level != "#" || i != levels.Length - 1))
            {
                return false;
            }

            if (level.Contains('+') && level != "+")
            {
                return false;
            }
        }

        return true;
    }
}
