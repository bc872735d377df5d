using System.Text;
using EdgeLlm.Core.Security;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Dashboard;

/// <summary>`edgellm dashboard` and `edgellm passwd` as an operator runs them.</summary>
public sealed class DashboardCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("--Dashboard:Port=70000", "Dashboard:Port must be from 0 to 65535")]
    [InlineData("--Dashboard:Address=localhost", "Dashboard:Address must be an IP address")]
    [InlineData("--Dashboard:CertificateFile=/nonexistent/page.pem", "Dashboard:CertificateFile: no such file")]
    [InlineData("--Dashboard:KeyFile=/etc/hostname", "Dashboard:KeyFile needs Dashboard:CertificateFile")]
    [InlineData("--Dashboard:OperatorsFile=/etc/hostname", "Dashboard:OperatorsFile needs Dashboard:CertificateFile")]
    [InlineData("--Dashboard:ClientId=two words", "Dashboard:ClientId must be up to 64 letters")]
    public async Task BadValue_StopsTheStartNamingTheKey(string setting, string message)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await CliRun.Of(limit.Token, "dashboard", $"--Mqtt:Server=127.0.0.1:{FreePort.Next()}", $"--Dashboard:Port={FreePort.Next()}", setting);

        string line = run.SingleErrorLine(expectedExitCode: 2);
        Assert.StartsWith("edgellm: configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOperatorsFileThatIsNotOne_StopsTheStartNamingTheLine()
    {
        string operators = _temp.Combine("operators");
        File.WriteAllText(operators, "ana:secret\n");
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var run = await CliRun.Of(limit.Token, "dashboard", $"--Mqtt:Server=127.0.0.1:{FreePort.Next()}", $"--Dashboard:Port={FreePort.Next()}", $"--Dashboard:OperatorsFile={operators}", "--Dashboard:CertificateFile=/etc/hostname");

        Assert.Contains($"Dashboard:OperatorsFile: {operators} line 1 is not", run.SingleErrorLine(expectedExitCode: 2), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeWithDashboardPort_ChecksTheDashboardSection()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await CliRun.Of(limit.Token, "serve", $"--Mqtt:EmbeddedPort={FreePort.Next()}", $"--Dashboard:Port={FreePort.Next()}", "--Dashboard:OperatorsFile=/etc/hostname");

        Assert.Contains("Dashboard:OperatorsFile needs Dashboard:CertificateFile", run.SingleErrorLine(expectedExitCode: 2), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Passwd_PrintsALineTheOperatorsFileTakes()
    {
        var run = await ProcessRun.RunAsync(Path.Combine(AppContext.BaseDirectory, "edgellm"), ["passwd", "ana"], TimeSpan.FromSeconds(60), Encoding.UTF8.GetBytes("tulip 7\n"));
        string operators = _temp.Combine("operators");
        File.WriteAllText(operators, run.Output);

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("ana:pbkdf2-sha256$", run.Output, StringComparison.Ordinal);
        Assert.True(PasswordFile.Read(operators).Verify("ana", "tulip 7"));
    }

    [Fact]
    public async Task Passwd_NoPassword_IsAUsageError()
    {
        var run = await ProcessRun.RunAsync(Path.Combine(AppContext.BaseDirectory, "edgellm"), ["passwd", "ana"], TimeSpan.FromSeconds(60), []);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("no password on standard input", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }
}
