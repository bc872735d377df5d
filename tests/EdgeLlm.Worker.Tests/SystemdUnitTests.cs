using System.Globalization;
using System.Text.RegularExpressions;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests;

/// <summary>systemd/: the unit and its GPIO drop-in as systemd reads them, the sandbox's exposure score, and the install scripts.</summary>
public sealed partial class SystemdUnitTests : IDisposable
{
    private const string InstalledExecutable = "/opt/edgellm/edgellm";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    // verify also checks that ExecStart's program exists and is executable: the copy runs this build's edgellm.
    [ToolTheory("systemd-analyze")]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_ReportsNothing(bool withGpioDropIn)
    {
        var run = await ProcessRun.RunAsync("systemd-analyze", ["verify", UnitCopy(withGpioDropIn)], Limit);

        Assert.Equal(0, run.ExitCode);
        // Unknown keys and bad values are warnings on stderr with exit code 0.
        Assert.Equal("", run.Output + run.Error);
    }

    [ToolTheory("systemd-analyze")]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SecurityAssessment_RatesTheSandboxOk(bool withGpioDropIn)
    {
        var run = await ProcessRun.RunAsync("systemd-analyze", ["security", "--offline=true", UnitCopy(withGpioDropIn)], Limit);

        Assert.Equal(0, run.ExitCode);
        var overall = OverallExposure().Match(run.Output);
        Assert.True(overall.Success, run.Output + run.Error);
        Assert.InRange(double.Parse(overall.Groups["score"].Value, CultureInfo.InvariantCulture), 0, 2.5);
        Assert.Equal("OK", overall.Groups["rating"].Value);
        // The drop-in was read: its device classes are in the assessment.
        Assert.Equal(withGpioDropIn, run.Output.Contains("char-gpiochip:rw", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("install.sh")]
    [InlineData("uninstall.sh")]
    public async Task Script_ParsesInBash(string script)
    {
        var run = await ProcessRun.RunAsync("bash", ["-n", Repository.Combine("systemd", script)], Limit);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
    }

    [ToolTheory("shellcheck")]
    [InlineData("install.sh")]
    [InlineData("uninstall.sh")]
    public async Task Script_PassesShellcheck(string script)
    {
        var run = await ProcessRun.RunAsync("shellcheck", [Repository.Combine("systemd", script)], Limit);

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
    }

    public void Dispose() => _temp.Dispose();

    [GeneratedRegex(@"Overall exposure level for edgellm\.service: (?<score>\d+\.\d+) (?<rating>\w+)")]
    private static partial Regex OverallExposure();

    /// <summary>
    /// The unit as installed, but running this build's edgellm; with the GPIO drop-in in edgellm.service.d/
    /// beside it, where systemd-analyze looks for drop-ins of a unit given by path.
    /// </summary>
    private string UnitCopy(bool withGpioDropIn)
    {
        string unit = File.ReadAllText(Repository.Combine("systemd", "edgellm.service"));
        Assert.Contains($"ExecStart={InstalledExecutable} serve", unit);
        string path = _temp.Combine("edgellm.service");
        File.WriteAllText(path, unit.Replace(InstalledExecutable, Path.Combine(AppContext.BaseDirectory, "edgellm"), StringComparison.Ordinal));
        if (withGpioDropIn)
        {
            Directory.CreateDirectory(_temp.Combine("edgellm.service.d"));
            File.Copy(Repository.Combine("systemd", "edgellm-gpio.conf"), _temp.Combine("edgellm.service.d", "gpio.conf"));
        }

        return path;
    }
}
