using System.Diagnostics;

namespace EdgeLlm.Tests;

/// <summary>
/// A server the tests start in the background (ChromeDriver, Prometheus): its output read and dropped, so
/// that a full pipe never stalls it, and killed with its children when the test is done.
/// </summary>
internal static class ServerProcess
{
    public static Process Start(string program, IEnumerable<string> args)
    {
        var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{program} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
