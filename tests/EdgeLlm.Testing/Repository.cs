namespace EdgeLlm.Tests;

/// <summary>The repository the tests were built from: the first folder above the test binaries that holds EdgeLlm.sln.</summary>
public static class Repository
{
    /// <summary>The repository's folder, or null when the tests run from a copy outside it.</summary>
    public static string? Root { get; } = Locate();

    /// <summary>A path inside the repository.</summary>
    public static string Combine(params string[] parts) =>
        Path.Combine([Root ?? throw new InvalidOperationException($"no EdgeLlm.sln above {AppContext.BaseDirectory}"), .. parts]);

    private static string? Locate()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EdgeLlm.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
