using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeLlm.Tests;

/// <summary>POSIX signals to other processes (.NET's Process.Kill sends only SIGKILL).</summary>
public static partial class Signals
{
    private const int SigTerm = 15;

    /// <summary>Asks the process to stop, as systemd and Mosquitto's users do.</summary>
    public static void Terminate(Process process)
    {
        if (Kill(process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"SIGTERM to {process.Id} failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
