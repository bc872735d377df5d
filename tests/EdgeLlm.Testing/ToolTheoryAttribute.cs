using Xunit;

namespace EdgeLlm.Tests;

/// <summary>A theory that runs a program found on PATH (systemd-analyze, shellcheck); skipped with the reason when it is not installed.</summary>
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(string program)
    {
        Program = program;
        if (!IsInstalled(program))
        {
            Skip = $"{program} is not installed (not on PATH)";
        }
    }

    public string Program { get; }

    private static bool IsInstalled(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(folder => File.Exists(Path.Combine(folder, program)));
}
