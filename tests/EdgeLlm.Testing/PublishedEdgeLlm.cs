namespace EdgeLlm.Tests;

/// <summary>
/// `dotnet publish` of edgellm with one of the repository's publish-profiles/, into a folder of a temporary
/// directory, the build's intermediate files beside it (--artifacts-path), so that the repository's own bin/
/// and obj/ stay as they were.
/// </summary>
public static class PublishedEdgeLlm
{
    // A NativeAOT publish from a clean artifacts folder takes some minutes on two cores.
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);

    /// <summary>Publishes with publish-profiles/<paramref name="profile"/>.pubxml into <paramref name="directory"/>; returns the folder that holds the edgellm executable.</summary>
    public static async Task<string> PublishAsync(string profile, TempDirectory directory)
    {
        string folder = directory.Combine(profile);
        // No build servers: they would outlive the test or benchmark that started them.
        var run = await ProcessRun.RunAsync("dotnet",
            ["publish", Repository.Combine("src", "EdgeLlm.Worker", "EdgeLlm.Worker.csproj"), $"-p:PublishProfile={profile}", $"-p:PublishDir={folder}/",
             "--artifacts-path", directory.Combine($"artifacts-{profile}"), "--disable-build-servers", "-nologo"],
            Timeout);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish -p:PublishProfile={profile} failed with exit code {run.ExitCode}:\n{run.Output}\n{run.Error}");
        }

        return folder;
    }
}
