namespace EdgeLlm.Worker.Tests;

/// <summary>One run of the `edgellm` command line, in process, with what it printed.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static Task<CliRun> Of(params string[] args) => Of(CancellationToken.None, args);

    public static async Task<CliRun> Of(CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await EdgeLlmCli.RunAsync(args, output, error, cancellationToken);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Asserts the run failed with exactly one line on stderr, and returns it.</summary>
    public string SingleErrorLine(int expectedExitCode)
    {
        Assert.Equal(expectedExitCode, ExitCode);
        string[] lines = Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("edgellm: ", lines[0]);
        return lines[0];
    }
}
