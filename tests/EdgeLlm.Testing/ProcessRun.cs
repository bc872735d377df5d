using System.Diagnostics;

namespace EdgeLlm.Tests;

/// <summary>A finished external process: its exit code and what it printed.</summary>
public sealed record ProcessRun(int ExitCode, string Output, string Error)
{
    /// <summary>Runs a program to its end, or kills it after <paramref name="timeout"/>.</summary>
    public static async Task<ProcessRun> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout, byte[]? standardInput = null)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = standardInput is not null };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        if (standardInput is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }

        return new ProcessRun(process.ExitCode, await output, await error);
    }
}
