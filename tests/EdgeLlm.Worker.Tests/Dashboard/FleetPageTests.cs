using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using EdgeLlm.Core.Security;
using EdgeLlm.Tests;
using EdgeLlm.Worker.Dashboard;
using EdgeLlm.Worker.Tests.Node;
using MQTTnet;

namespace EdgeLlm.Worker.Tests.Dashboard;

/// <summary>
/// The live fleet page (docs/telemetry.md) in a real browser, headless Chromium, over a real Mosquitto with
/// real nodes: what an operator sees when nodes come, answer, pull and die, and what the page lets them do.
/// </summary>
public sealed class FleetPageTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _temp = new();
    private readonly ModelSourceServer _sources = new();
    private readonly string _prefix = $"page{Guid.NewGuid():N}"[..12];

    public void Dispose()
    {
        _sources.Dispose();
        _temp.Dispose();
    }

    [BrowserFact]
    public async Task TwoNodes_AppearLive_TheirDecisionsOnClick_APullShowsItsProgress_AKilledNodeGoesOffline()
    {
        _sources.BytesPerSecond = 48 * 1024;
        // A Pi 4 at 44.3 °C on a discharging battery, whose supply dipped under-voltage since boot.
        using var board = FakeBoard.CoolPi4().Throttled("0x50000").Supply("BAT0", "Battery", capacity: 64, status: "Discharging");
        await using var answering = NodeProcess.Start(Settings("pi-a", $"Models:Local={models.Stories}", $"Device:SysfsRoot={board.Root}"));
        await using var pulling = NodeProcess.Start(Settings("pi-b", $"Models:CatalogPath={ServedCatalog()}", "Models:OnDemand=auto"));
        await Task.WhenAll(answering.WaitUntilListeningAsync(), pulling.WaitUntilListeningAsync());
        await using var dashboard = await RunningDashboard.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);
        Assert.Null((await requester.AskAsync($"{_prefix}/pi-a/ask/q", """{"id":"a-1","prompt":"Once upon a time","maxTokens":12}""")).Error);
        await using var browser = await HeadlessChromium.StartAsync(width: 412, height: 915);

        await browser.GoToAsync(dashboard.Address);
        await browser.WaitUntilAsync("return [...document.querySelectorAll('[data-node]')].filter(c => c.querySelector('.state').textContent === 'online').length === 2", "both nodes online");
        await browser.WaitUntilAsync("return document.querySelector('[data-node=\"pi-a\"] .split').textContent.startsWith('100% local')", "pi-a's answer counted local");

        Assert.Equal("2 of 2 nodes online", await browser.TextAsync("#summary"));
        Assert.Equal("live", await browser.TextAsync("#live"));
        Assert.Equal("stories260k-int8", await browser.TextAsync("[data-node=\"pi-a\"] .models .loaded"));
        Assert.Matches(@"^\d+\.\d$", await browser.TextAsync("[data-node=\"pi-a\"] .rate"));
        Assert.Equal("no errors", await browser.TextAsync("[data-node=\"pi-a\"] .errors"));
        Assert.Equal("44.3 °C", await browser.TextAsync("[data-node=\"pi-a\"] .temperature"));
        Assert.Equal("battery 64%", await browser.TextAsync("[data-node=\"pi-a\"] .power"));
        Assert.Equal(["under-voltage since boot", "throttled since boot", "on battery"], (await browser.RunAsync("return [...document.querySelectorAll('[data-node=\"pi-a\"] .flags span')].map(s => s.textContent)")).EnumerateArray().Select(e => e.GetString()));
        Assert.True((await browser.RunAsync("return document.getElementById('operator').hidden")).GetBoolean(), "a read-only page asks for no operator");

        await browser.ClickAsync("[data-node=\"pi-a\"] .head");
        string recent = (await browser.TextAsync("[data-node=\"pi-a\"] .recent tbody"))!;
        Assert.Contains("a-1", recent, StringComparison.Ordinal);
        Assert.Contains("fits-local", recent, StringComparison.Ordinal);
        Assert.Contains("stories260k-int8", recent, StringComparison.Ordinal);
        Assert.True((await browser.RunAsync("return document.querySelector('[data-node=\"pi-a\"] .command').hidden")).GetBoolean(), "a read-only page offers no commands");

        await requester.PublishAsync($"{_prefix}/pi-b/ask/q", """{"id":"b-1","prompt":"Once upon a time","maxTokens":4}""");
        await browser.WaitUntilAsync("const p = document.querySelector('[data-node=\"pi-b\"] .pull[data-model=\"stories260k-int4\"] progress'); return !!p && p.value > 0 && p.value < p.max", "pi-b's pull under way");
        Assert.Matches(@"^pulling stories260k-int4: \d+(\.\d)? [KM]B of 1\.\d MB \(\d+%\)$", await browser.TextAsync("[data-node=\"pi-b\"] .pull .label"));

        await answering.KillAsync();
        await browser.WaitUntilAsync("return document.querySelector('[data-node=\"pi-a\"] .state').textContent === 'offline'", "pi-a offline after it was killed");

        Assert.Equal("1 of 2 nodes online", await browser.TextAsync("#summary"));
        Assert.Equal("online", await browser.TextAsync("[data-node=\"pi-b\"] .state"));
        // What the killed node last said of itself stays to be seen.
        Assert.StartsWith("last seen ", await browser.TextAsync("[data-node=\"pi-a\"] .seen"), StringComparison.Ordinal);
        Assert.Equal("44.3 °C", await browser.TextAsync("[data-node=\"pi-a\"] .temperature"));
        Assert.Contains("a-1", (await browser.TextAsync("[data-node=\"pi-a\"] .recent tbody"))!, StringComparison.Ordinal);
        byte[] screenshot = await browser.ScreenshotAsync();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], screenshot[..4]);
        // Beside the test binaries, whence docs/fleet-page.png was copied.
        await File.WriteAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fleet-page.png"), screenshot);
    }

    [BrowserFact]
    public async Task Commands_OverTlsFromAnOperator_PullAModel_AndAWrongPasswordIsRefused()
    {
        var (certificate, operators) = TlsAndOperator("ana", "correct horse");
        await using var node = await RunningNode.StartAsync(Settings("pi-c", $"Models:CatalogPath={ServedCatalog()}", "Mqtt:Commands:TrustBrokerAcl=true"));
        await using var dashboard = await RunningDashboard.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}", $"Dashboard:CertificateFile={certificate}", $"Dashboard:OperatorsFile={operators}");
        await using var browser = await HeadlessChromium.StartAsync(acceptInsecureCerts: true);

        Assert.Equal("https", dashboard.Address.Scheme);
        await browser.GoToAsync(dashboard.Address);
        await browser.WaitUntilAsync("return !document.getElementById('operator').hidden && !!document.querySelector('[data-node=\"pi-c\"]')", "the operator's form and pi-c");
        await browser.ClickAsync("[data-node=\"pi-c\"] .head");
        await browser.TypeAsync("#operator-name", "ana");
        await browser.TypeAsync("#operator-password", "wrong");
        await browser.TypeAsync("[data-node=\"pi-c\"] .command .model", "stories260k-int4");
        await browser.ClickAsync("[data-node=\"pi-c\"] .command button[value=\"pull\"]");
        await browser.WaitUntilAsync("return document.querySelector('[data-node=\"pi-c\"] .result').textContent === 'forbidden: wrong operator name or password'", "the wrong password refused");
        Assert.Empty(_sources.RequestsFor("stories260K.bin"));

        await browser.RunAsync("document.getElementById('operator-password').value = ''; return null;");
        await browser.TypeAsync("#operator-password", "correct horse");
        await browser.ClickAsync("[data-node=\"pi-c\"] .command button[value=\"pull\"]");
        await browser.WaitUntilAsync("return document.querySelector('[data-node=\"pi-c\"] .result').textContent.includes('stories260k-int4') && !document.querySelector('[data-node=\"pi-c\"] .result').textContent.endsWith('…')", "the pull's result", Patience);

        Assert.DoesNotContain("error", (await browser.TextAsync("[data-node=\"pi-c\"] .result"))!, StringComparison.Ordinal);
        Assert.Single(_sources.RequestsFor("stories260K.bin"));
        await browser.WaitUntilAsync("return [...document.querySelectorAll('[data-node=\"pi-c\"] .models span')].some(s => s.textContent === 'stories260k-int4')", "the pulled model among pi-c's");
    }

    [MosquittoFact]
    public async Task CommandsEndpoint_ReadOnlyPage_RefusesThem_AndAsksTlsPagesForCredentials()
    {
        var (certificate, operators) = TlsAndOperator("ana", "pw");
        await using var node = await RunningNode.StartAsync(Settings("pi-d", $"Models:Local={models.Stories}", "Mqtt:Commands:TrustBrokerAcl=true"));
        await using var readOnly = await RunningDashboard.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}");
        await using var secured = await RunningDashboard.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}", $"Dashboard:CertificateFile={certificate}", $"Dashboard:OperatorsFile={operators}");
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        await Eventually.TrueAsync(() => secured.Fleet.Nodes.Any(n => n.Id == "pi-d" && n.Online), Patience, "the page hearing pi-d");

        var refused = await http.PostAsync(new Uri(readOnly.Address, "api/nodes/pi-d/commands"), Json("""{"command":"unload","model":"stories260k-int8"}"""));
        var anonymous = await http.PostAsync(new Uri(secured.Address, "api/nodes/pi-d/commands"), Json("""{"command":"unload","model":"stories260k-int8"}"""));
        var wrong = await PostAsync(http, secured, "pi-d", """{"command":"unload","model":"stories260k-int8"}""", "ana", "not-pw");
        var stranger = await PostAsync(http, secured, "pi-d", """{"command":"unload","model":"stories260k-int8"}""", "bob", "pw");
        var malformed = await PostAsync(http, secured, "pi-d", "{\"command\":", "ana", "pw");
        var unknownNode = await PostAsync(http, secured, "pi-nowhere", """{"command":"unload","model":"x"}""", "ana", "pw");
        var done = await PostAsync(http, secured, "pi-d", """{"command":"pin","model":"stories260k-int8"}""", "ana", "pw");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("forbidden", await ErrorCodeAsync(refused));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (wrong.StatusCode, stranger.StatusCode));
        Assert.Equal((HttpStatusCode.BadRequest, "bad-request"), (malformed.StatusCode, await ErrorCodeAsync(malformed)));
        Assert.Equal(HttpStatusCode.NotFound, unknownNode.StatusCode);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using var result = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        Assert.Equal(("pin", "pinned"), (result.RootElement.GetProperty("command").GetString(), result.RootElement.GetProperty("outcome").GetString()));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.DeleteAsync(new Uri(readOnly.Address, "api/fleet"))).StatusCode);
    }

    [MosquittoFact]
    public async Task APageOnANode_ShowsTheFleet_AndCommandsTheNodeItself()
    {
        var (certificate, operators) = TlsAndOperator("ana", "pw");
        int port = FreePort.Next();
        await using var gateway = await RunningNode.StartAsync(Settings("gw-1", $"Models:Local={models.Stories}", "Mqtt:Commands:TrustBrokerAcl=true",
            $"Dashboard:Port={port}", "Dashboard:Address=127.0.0.1", $"Dashboard:CertificateFile={certificate}", $"Dashboard:OperatorsFile={operators}"));
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        var page = gateway.Service<FleetPageServer>();
        await Eventually.TrueAsync(() => gateway.Service<Mqtt.Fleet.FleetState>().Nodes.Any(n => n.Id == "gw-1" && n.Online), Patience, "the gateway's page hearing the gateway");

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(page.Address!, "api/nodes/gw-1/commands")) { Content = Json("""{"command":"pin","model":"stories260k-int8"}""") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("ana:pw"u8.ToArray()));
        var done = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using var result = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        Assert.Equal("pinned", result.RootElement.GetProperty("outcome").GetString());
    }

    [MosquittoFact]
    public async Task StatusesThatAreNotAdvertisements_AreLeftOut_AndAClearedStatusRemovesTheNode()
    {
        await using var dashboard = await RunningDashboard.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Mqtt:TopicPrefix={_prefix}");
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", mosquitto.Broker.Port).Build());
        await RetainAsync(client, "not-json", "{\"node\":"u8.ToArray());
        await RetainAsync(client, "impostor", """{"node":"pi-other","online":true}"""u8.ToArray());
        await RetainAsync(client, "huge", Encoding.UTF8.GetBytes($$"""{"node":"huge","online":true,"pad":"{{new string('x', 70_000)}}"}"""));
        await RetainAsync(client, "pi-real", """{"node":"pi-real","online":true,"tier":0,"models":[]}"""u8.ToArray());
        using var http = new HttpClient();

        await Eventually.TrueAsync(() => dashboard.Fleet.Nodes.Any(n => n.Id == "pi-real"), Patience, "the real node heard");
        using var fleet = JsonDocument.Parse(await http.GetStringAsync(new Uri(dashboard.Address, "api/fleet")));
        Assert.Equal(["pi-real"], fleet.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("id").GetString()));
        Assert.Equal(0, fleet.RootElement.GetProperty("nodes")[0].GetProperty("status").GetProperty("tier").GetInt32());

        await RetainAsync(client, "pi-real", []);
        await Eventually.TrueAsync(() => dashboard.Fleet.Nodes.Count == 0, Patience, "the cleared node removed");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(dashboard.Address)).StatusCode);
    }

    private string[] Settings(string nodeId, params string[] more) =>
    [
        $"Node:Id={nodeId}",
        $"Mqtt:Server={mosquitto.Broker.Server}",
        $"Mqtt:TopicPrefix={_prefix}",
        $"Mqtt:RequestTopic={_prefix}/{nodeId}/ask/#",
        "Mqtt:StatusIntervalSeconds=1",
        .. more,
    ];

    private string ServedCatalog()
    {
        var source = StoriesCatalog.Source(_sources.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint)), _sources.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer)));
        return StoriesCatalog.Write(_temp.Combine($"catalog-{Guid.NewGuid():N}.json"), StoriesCatalog.Model("stories260k-int4", "int4", source));
    }

    // A self-signed certificate for localhost (PKCS#12) and an operators file with one operator.
    private (string Certificate, string Operators) TlsAndOperator(string name, string password)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddDays(-1), TimeProvider.System.GetUtcNow().AddDays(1));
        string pfx = _temp.Combine($"page-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12));
        string operators = _temp.Combine($"operators-{Guid.NewGuid():N}");
        File.WriteAllText(operators, $"# fleet operators\n{name}:{PasswordFile.Hash(password, iterations: 1000)}\n");
        return (pfx, operators);
    }

    private async Task RetainAsync(IMqttClient client, string node, byte[] payload) =>
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"{_prefix}/node/{node}/status").WithPayload(payload).WithRetainFlag(true)
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, RunningDashboard dashboard, string node, string body, string name, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(dashboard.Address, $"api/nodes/{node}/commands")) { Content = Json(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{name}:{password}")));
        return await http.SendAsync(request);
    }

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("error").GetProperty("code").GetString();
    }
}
