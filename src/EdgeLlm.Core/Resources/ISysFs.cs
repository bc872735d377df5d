namespace EdgeLlm.Core.Resources;

/// <summary>
/// procfs and sysfs under a root folder ("/" on a board, a fake tree in tests). Reads are Try-style: a file
/// that is missing or unreadable is unknown, never an exception.
/// </summary>
public interface ISysFs
{
    /// <param name="path">Relative to the root, e.g. "proc/meminfo".</param>
    bool TryReadText(string path, out string text);

    /// <summary>Names of the entries of a folder; empty when it is missing.</summary>
    IReadOnlyList<string> List(string path);
}

public sealed class RootedSysFs(string root) : ISysFs
{
    public string Root { get; } = Path.GetFullPath(root);

    public bool TryReadText(string path, out string text)
    {
        try
        {
            text = File.ReadAllText(Path.Combine(Root, path));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text = "";
            return false;
        }
    }

    public IReadOnlyList<string> List(string path)
    {
        try
        {
            return [.. Directory.EnumerateFileSystemEntries(Path.Combine(Root, path)).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

public static class SysFsExtensions
{
    /// <summary>The file's first line as a whole number.</summary>
    public static bool TryReadInt64(this ISysFs sysFs, string path, out long value)
    {
        value = 0;
        return sysFs.TryReadText(path, out string text)
            && long.TryParse(text.AsSpan().Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The file's text trimmed (and without the trailing NUL of device-tree strings), or null.</summary>
    public static string? ReadTrimmed(this ISysFs sysFs, string path) =>
        sysFs.TryReadText(path, out string text) ? text.Trim().TrimEnd('\0').Trim() : null;
}
