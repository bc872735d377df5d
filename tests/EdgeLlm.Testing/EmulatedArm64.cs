using Xunit;

namespace EdgeLlm.Tests;

/// <summary>
/// Runs linux-arm64 programs on this x64 machine as on a Raspberry Pi 4: qemu-aarch64-static (user mode) with
/// the arm64 C and C++ runtime of Debian's cross packages and its OpenSSL (/usr/aarch64-linux-gnu), and the Pi's /proc/cpuinfo
/// bind-mounted over the real one in a mount namespace of the program's own (unshare -m, so root). qemu shows
/// an emulated program the host's x86 /proc/cpuinfo, where ONNX Runtime finds no ARM CPU ("Unknown CPU
/// vendor") and picks its kernels blind; with the Pi's it picks them as on the board.
/// </summary>
public static class EmulatedArm64
{
    public const string Qemu = "/usr/bin/qemu-aarch64-static";
    public const string Sysroot = "/usr/aarch64-linux-gnu";

    // The arguments after "sh -c SCRIPT": $0 (a name for messages), then the cpuinfo file, qemu and the sysroot;
    // the program and its arguments follow.
    private const string Script = """
        cpuinfo=$1 qemu=$2 sysroot=$3; shift 3
        mount --bind "$cpuinfo" /proc/cpuinfo && exec "$qemu" -L "$sysroot" "$@"
        """;

    private static readonly Lazy<string?> Unavailable = new(Probe);

    public static string CpuInfo => Path.Combine(AppContext.BaseDirectory, "pi4-cpuinfo");

    public static bool Available => Unavailable.Value is null;

    public static string SkipReason =>
        $"arm64 emulation does not work here ({Unavailable.Value}): tests/run.sh installs qemu-user-static, libc6-arm64-cross, libstdc++6-arm64-cross and libgcc-s1-arm64-cross, unpacks libssl3:arm64 beside them, and the emulated runs need root (unshare -m, mount --bind)";

    /// <summary>The command that, followed by an arm64 program and its arguments, runs it under emulation.</summary>
    public static IReadOnlyList<string> Prefix => ["unshare", "-m", "sh", "-c", Script, "emulated-arm64", CpuInfo, Qemu, Sysroot];

    /// <summary>Runs an arm64 program under emulation to its end, or kills it after <paramref name="timeout"/>.</summary>
    public static Task<ProcessRun> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout) =>
        ProcessRun.RunAsync(Prefix[0], [.. Prefix.Skip(1), program, .. args], timeout);

    // Null when emulation works, else what is missing: the arm64 dynamic loader itself must run under it.
    private static string? Probe()
    {
        string loader = Path.Combine(Sysroot, "lib", "ld-linux-aarch64.so.1");
        string? missing = new[] { Qemu, loader, Path.Combine(Sysroot, "lib", "libstdc++.so.6"), Path.Combine(Sysroot, "lib", "libgcc_s.so.1"), Path.Combine(Sysroot, "lib", "libssl.so.3") }.FirstOrDefault(f => !File.Exists(f));
        if (missing is not null)
        {
            return $"{missing} is missing";
        }

        try
        {
            var run = RunAsync(loader, ["--version"], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            return run.ExitCode == 0 ? null : $"the arm64 loader under emulation exited with {run.ExitCode}: {run.Error.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return $"the arm64 loader did not run under emulation: {e.Message}";
        }
    }
}

/// <summary>A fact that runs arm64 programs under <see cref="EmulatedArm64"/>; skipped with the reason when it does not work here.</summary>
public sealed class EmulatedArm64FactAttribute : FactAttribute
{
    public EmulatedArm64FactAttribute()
    {
        if (!EmulatedArm64.Available)
        {
            Skip = EmulatedArm64.SkipReason;
        }
    }
}
