using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>A fleet broker that asks for TLS, a client certificate and a password, as production brokers do.</summary>
public sealed class FleetBrokerTests(NodeModels models) : IClassFixture<NodeModels>, IDisposable
{
    private readonly TempDirectory _temp = new();

    [MosquittoFact]
    public async Task SecuredBroker_NodeConnectsWithTlsCertificateAndPassword_AndAnswers()
    {
        var pki = TestPki.Create(_temp.Path);
        string passwordFile = PasswordFile("s3cret");
        await using var broker = await StartSecuredBrokerAsync(pki, "require_certificate true");

        await using var node = await RunningNode.StartAsync(
            $"Mqtt:Server={broker.Server}", $"Models:Local={models.Stories}", "Mqtt:UseTls=true",
            $"Mqtt:CaFile={pki.CaFile}", $"Mqtt:ClientCertFile={pki.ClientFile}", "Mqtt:Username=pi-07", $"Mqtt:PasswordFile={passwordFile}");
        var run = await ProcessRun.RunAsync("mosquitto_rr", ["-V", "5", "-h", "127.0.0.1", "-p", $"{broker.Port}", "--cafile", pki.CaFile, "--cert", pki.ClientFile, "--key", pki.ClientFile,
            "-u", "pi-07", "-P", "s3cret", "-t", "edgellm/ask/secure", "-e", "test/secure/reply", "-m", "Lily", "-W", "20"], TimeSpan.FromSeconds(30));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(models.StoriesContinuation("Lily", 128) + "\n", run.Output);
    }

    [MosquittoFact]
    public async Task SecuredBroker_WrongPassword_KeepsRetryingAndNeverReportsReady()
    {
        var pki = TestPki.Create(_temp.Path);
        string passwordFile = PasswordFile("not-it");
        await using var broker = await StartSecuredBrokerAsync(pki);

        // Refused, the node keeps retrying and never reports ready (its subscription never happens).
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunningNode.StartAsync(
            TimeSpan.FromSeconds(4), $"Mqtt:Server={broker.Server}", $"Models:Local={models.Stories}", "Mqtt:UseTls=true", $"Mqtt:CaFile={pki.CaFile}", "Mqtt:Username=pi-07", $"Mqtt:PasswordFile={passwordFile}"));
    }

    public void Dispose() => _temp.Dispose();

    // A TLS listener that knows one user, pi-07 with the password "s3cret".
    private Task<MosquittoBroker> StartSecuredBrokerAsync(TestPki pki, params string[] more)
    {
        string users = _temp.Combine("mosquitto.passwd");
        return MosquittoBroker.StartAsync(
            [$"cafile {pki.CaFile}", $"certfile {pki.ServerCertFile}", $"keyfile {pki.ServerKeyFile}", "allow_anonymous false", $"password_file {users}", .. more],
            prepare: _ => Assert.Equal(0, ProcessRun.RunAsync("mosquitto_passwd", ["-b", "-c", users, "pi-07", "s3cret"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult().ExitCode));
    }

    private string PasswordFile(string password)
    {
        string path = _temp.Combine($"password-{password}");
        File.WriteAllText(path, password + "\n");
        return path;
    }

    /// <summary>A certificate authority, a server certificate for 127.0.0.1 and a client certificate, as PEM files.</summary>
    private sealed record TestPki(string CaFile, string ServerCertFile, string ServerKeyFile, string ClientFile)
    {
        public static TestPki Create(string folder)
        {
            using var caKey = RSA.Create(2048);
            var caRequest = new CertificateRequest("CN=EdgeLlm Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = TimeProvider.System.GetUtcNow();
            using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(2));

            string caFile = Path.Combine(folder, "ca.pem");
            File.WriteAllText(caFile, ca.ExportCertificatePem());
            var (serverCert, serverKey) = Issue(ca, "CN=127.0.0.1", server: true);
            string serverCertFile = Path.Combine(folder, "server.pem");
            string serverKeyFile = Path.Combine(folder, "server.key");
            File.WriteAllText(serverCertFile, serverCert);
            File.WriteAllText(serverKeyFile, serverKey);
            var (clientCert, clientKey) = Issue(ca, "CN=pi-07", server: false);
            string clientFile = Path.Combine(folder, "client.pem");
            File.WriteAllText(clientFile, clientCert + "\n" + clientKey);
            return new TestPki(caFile, serverCertFile, serverKeyFile, clientFile);
        }

        private static (string Certificate, string Key) Issue(X509Certificate2 ca, string subject, bool server)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
            if (server)
            {
                var names = new SubjectAlternativeNameBuilder();
                names.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(names.Build());
            }

            var now = TimeProvider.System.GetUtcNow();
            using var certificate = request.Create(ca, now.AddDays(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
            return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }
    }
}
