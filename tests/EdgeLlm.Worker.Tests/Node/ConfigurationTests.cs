using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>Configuration is checked at start, and a bad value stops it with a message that names the key.</summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Theory]
    [InlineData("--Mqtt:Server=no-port", "Mqtt:Server must be host:port")]
    [InlineData("--Mqtt:EmbeddedPort=70000", "Mqtt:EmbeddedPort must be from 1 to 65535")]
    [InlineData("--Mqtt:EmbeddedAddress=localhost", "Mqtt:EmbeddedAddress must be an IP address")]
    [InlineData("--Mqtt:EmbeddedAddress=0.0.0.0", "Mqtt:EmbeddedAddress 0.0.0.0 reaches beyond this host: the embedded broker then needs Mqtt:Embedded:UsersFile")]
    [InlineData("--Mqtt:Embedded:UsersFile=/etc/hostname", "Mqtt:Embedded:UsersFile: /etc/hostname line 1 is not")]
    [InlineData("--Mqtt:Embedded:UsersFile=/nonexistent/users", "Mqtt:Embedded:UsersFile: no such file")]
    [InlineData("--Mqtt:Embedded:KeyFile=/etc/hostname", "Mqtt:Embedded:KeyFile needs Mqtt:Embedded:CertificateFile")]
    [InlineData("--Mqtt:Embedded:TlsPort=0", "Mqtt:Embedded:TlsPort must be from 1 to 65535")]
    [InlineData("--Mqtt:RequestTopic=edgellm/#/ask", "Mqtt:RequestTopic 'edgellm/#/ask' is not a valid MQTT topic filter")]
    [InlineData("--Mqtt:PasswordFile=/nonexistent/password", "Mqtt:PasswordFile: no such file")]
    [InlineData("--Mqtt:TopicPrefix=a/+/b", "Mqtt:TopicPrefix must be topic levels without wildcards")]
    [InlineData("--Node:Id=pi 07", "Node:Id must be up to 64 letters")]
    [InlineData("--Node:Tier=-1", "Node:Tier must be from 0 to 9")]
    [InlineData("--Admission:QueueCapacity=0", "Admission:QueueCapacity must be from 1 to 1024")]
    [InlineData("--Admission:MaxPromptBytes=10", "Admission:MaxPromptBytes must be from 64 to 1048576")]
    [InlineData("--Admission:DefaultMaxTokens=0", "Admission:DefaultMaxTokens must be from 1 to 65536")]
    [InlineData("--Streaming:HeartbeatMs=5000", "Streaming:HeartbeatMs must be from 100 to 2000")]
    [InlineData("--Conversations:CacheSlots=99", "Conversations:CacheSlots must be from 0 to 16")]
    [InlineData("--Telemetry:PrometheusPort=70000", "Telemetry:PrometheusPort must be from 0 to 65535")]
    [InlineData("--Telemetry:OtlpEndpoint=collector:4318", "Telemetry:OtlpEndpoint")]
    public async Task Serve_BadValue_StopsTheStartNamingTheKey(string setting, string message)
    {
        // A free embedded port first, so that the setting under test (later, and so winning) is the only fault;
        // should the node start after all, the time limit stops it and the exit code tells.
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await CliRun.Of(limit.Token, "serve", $"--Mqtt:EmbeddedPort={FreePort.Next()}", setting);

        string line = run.SingleErrorLine(expectedExitCode: 2);
        Assert.StartsWith("edgellm: configuration: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public async Task Serve_ALocalFolderAndAnEndpoint_StopTheStart_ANodeServesOneModel()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await CliRun.Of(limit.Token, "serve", $"--Mqtt:EmbeddedPort={FreePort.Next()}", "--Models:Local=/var/lib/edgellm/models/tiny", "--Models:OpenAi:Endpoint=http://gateway:8080/v1", "--Models:OpenAi:Model=big");

        Assert.Contains("Models:Local and Models:OpenAi:Endpoint exclude each other: a node serves one model", run.SingleErrorLine(expectedExitCode: 2));
    }

    [Fact]
    public async Task Serve_EnvironmentAndConfigFolder_AreRead()
    {
        string folder = _temp.Combine("etc");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "10-node.json"), """{ "Admission": { "QueueCapacity": 0 } }""");
        await using var node = NodeProcess.Start([], new Dictionary<string, string> { ["EDGELLM_CONFIG_DIR"] = folder, ["EDGELLM__Mqtt__EmbeddedPort"] = $"{FreePort.Next()}" });

        Assert.Equal(2, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("edgellm: configuration: Admission:QueueCapacity must be from 1 to 1024", node.Log);
    }

    [Fact]
    public async Task Serve_EmbeddedPortTaken_FailsWithOneLine()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = await CliRun.Of(limit.Token, "serve", $"--Mqtt:EmbeddedPort={port}", $"--Models:StorePath={_temp.Combine("store")}");

        Assert.Contains($"Mqtt:EmbeddedPort {port} on 127.0.0.1 cannot be used", run.SingleErrorLine(expectedExitCode: 1));
    }

    public void Dispose() => _temp.Dispose();
}
