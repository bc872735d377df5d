using System.Runtime.InteropServices;

namespace EdgeLlm.Core.Routing;

/// <summary>Names the class of board whose measured model rates apply.</summary>
public static class BoardClasses
{
    /// <summary>The configured class, else the Raspberry Pi generation the device tree names, else the CPU architecture.</summary>
    public static string Of(string configured, string? board)
    {
        if (configured.Length > 0)
        {
            return configured;
        }

        foreach (var (marker, name) in new[] { ("Raspberry Pi 5", "pi5"), ("Raspberry Pi 4", "pi4"), ("Raspberry Pi 3", "pi3"), ("Raspberry Pi Zero 2", "pi-zero2") })
        {
            if (board?.Contains(marker, StringComparison.Ordinal) == true)
            {
                return name;
            }
        }

        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            var other => other.ToString().ToLowerInvariant(),
        };
    }
}
