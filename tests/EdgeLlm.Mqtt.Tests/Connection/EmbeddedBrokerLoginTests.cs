using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Security;
using EdgeLlm.Mqtt.Connection;
using EdgeLlm.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Mqtt.Tests.Connection;

/// <summary>The embedded broker's doors (Mqtt:Embedded): users with salted password hashes, the node's own login, anonymous clients only when allowed, TLS.</summary>
public sealed class EmbeddedBrokerLoginTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly int _port = FreePort.Next();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task WithAUsersFile_OnlyItsUsersAndTheNodeItselfGetIn()
    {
        var options = Options(allowAnonymous: false);
        var login = EmbeddedBrokerLogin.Create();
        await using var broker = new EmbeddedBroker(options, TimeProvider.System, NullLogger.Instance, login);
        await broker.StartAsync();

        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync("sensor-1", "tulip 7"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync("sensor-1", "tulip 8"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync("intruder", "tulip 7"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync(null, null));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync(login.User, "guess"));
        // Remembered once verified: the same password again, and still not another.
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync("sensor-1", "tulip 7"));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync("sensor-1", "tulip"));

        await using var node = new MqttConnection(Microsoft.Extensions.Options.Options.Create(options), MqttPresence.Node(options, new NodeOptions { Id = "pi-07" }), TimeProvider.System, NullLogger<MqttConnection>.Instance, login);
        node.Start();
        await node.SubscribeAsync(new MqttTopicFilterBuilder().WithTopic("t/#").Build(), _ => Task.CompletedTask, new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.True(node.IsConnected);
    }

    [Fact]
    public async Task AllowAnonymous_TakesClientsWithoutAName_AndStillChecksThoseWithOne()
    {
        await using var broker = new EmbeddedBroker(Options(allowAnonymous: true), TimeProvider.System, NullLogger.Instance);
        await broker.StartAsync();

        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectAsync(null, null));
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, await ConnectAsync("sensor-1", "wrong"));
    }

    [Fact]
    public async Task ACertificate_OpensATlsListener()
    {
        var options = Options(allowAnonymous: false);
        options.Embedded.CertificateFile = SelfSignedCertificate();
        options.Embedded.TlsPort = FreePort.Next();
        await using var broker = new EmbeddedBroker(options, TimeProvider.System, NullLogger.Instance);
        await broker.StartAsync();

        using var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", options.Embedded.TlsPort).WithCredentials("sensor-1", "tulip 7")
            .WithTlsOptions(tls => tls.UseTls().WithCertificateValidationHandler(_ => true)).Build());

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
    }

    private MqttOptions Options(bool allowAnonymous)
    {
        string users = _temp.Combine($"users-{Guid.NewGuid():N}");
        File.WriteAllText(users, $"sensor-1:{PasswordFile.Hash("tulip 7", iterations: 1000)}\n");
        return new MqttOptions { EmbeddedPort = _port, Embedded = { UsersFile = users, AllowAnonymous = allowAnonymous } };
    }

    private async Task<MqttClientConnectResultCode> ConnectAsync(string? user, string? password)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", _port).WithClientId($"c-{Guid.NewGuid():N}"[..12]);
        if (user is not null)
        {
            builder.WithCredentials(user, password);
        }

        try
        {
            var result = await client.ConnectAsync(builder.Build());
            return result.ResultCode;
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException e) when (e.Message.Contains(nameof(MqttClientConnectResultCode.BadUserNameOrPassword), StringComparison.Ordinal))
        {
            return MqttClientConnectResultCode.BadUserNameOrPassword;
        }
    }

    private string SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1));
        string path = _temp.Combine("broker.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12));
        return path;
    }
}
