using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace EdgeLlm.Tests;

/// <summary>
/// Debian's chromium, headless, driven through its ChromeDriver (chromium-driver) over the W3C WebDriver
/// protocol: a real browser loading a real page, its script run and its DOM read as a person would see it.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Browser = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly string _session;

    private HeadlessChromium(Process driver, HttpClient http, string session)
    {
        _driver = driver;
        _http = http;
        _session = session;
    }

    public static bool Available => File.Exists(Browser) && File.Exists(Driver);

    public static string SkipReason => "chromium and chromium-driver are not installed: tests/run.sh installs them";

    /// <param name="width">The window's width in CSS pixels: a phone's (~400) or a desk's.</param>
    /// <param name="acceptInsecureCerts">Take a self-signed certificate, as a test's TLS page has.</param>
    public static async Task<HeadlessChromium> StartAsync(int width = 1200, int height = 900, bool acceptInsecureCerts = false)
    {
        int port = FreePort.Next();
        var driver = ServerProcess.Start(Driver, [$"--port={port}", "--allowed-ips=127.0.0.1"]);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await FreePort.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(20));
            var capabilities = new JsonObject
            {
                ["capabilities"] = new JsonObject
                {
                    ["alwaysMatch"] = new JsonObject
                    {
                        ["browserName"] = "chrome",
                        ["acceptInsecureCerts"] = acceptInsecureCerts,
                        ["goog:chromeOptions"] = new JsonObject
                        {
                            ["binary"] = Browser,
                            // --no-sandbox: the tests run as root, where Chromium's sandbox will not start.
                            ["args"] = new JsonArray("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--window-size={width},{height}"),
                        },
                    },
                },
            };
            var created = await PostAsync(http, "session", capabilities);
            return new HeadlessChromium(driver, http, created.GetProperty("sessionId").GetString()!);
        }
        catch
        {
            http.Dispose();
            await ServerProcess.StopAsync(driver);
            throw;
        }
    }

    public Task GoToAsync(Uri url) => PostAsync(_http, $"session/{_session}/url", new JsonObject { ["url"] = url.ToString() });

    /// <summary>Runs <paramref name="script"/> (a function body: `return …`) in the page and gives back what it returns.</summary>
    public async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var body = new JsonObject { ["script"] = script, ["args"] = new JsonArray([.. arguments.Select(a => (JsonNode?)JsonValue.Create(a))]) };
        return await PostAsync(_http, $"session/{_session}/execute/sync", body);
    }

    /// <summary>The visible text of the first element <paramref name="selector"/> finds; null when there is none.</summary>
    public async Task<string?> TextAsync(string selector)
    {
        var value = await RunAsync("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", selector);
        return value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    /// <summary>Waits until <paramref name="script"/> returns true in the page, failing with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(string script, string what, TimeSpan? timeout = null, params string[] arguments)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        while ((await RunAsync(script, arguments)).ValueKind != JsonValueKind.True)
        {
            Assert.True(clock.Elapsed < limit, $"the page did not show {what} within {limit.TotalSeconds:F0} s; it shows: {await RunAsync("return document.body.textContent.replace(/\\s+/g, ' ')")}");
            await Task.Delay(100);
        }
    }

    /// <summary>Clicks the first element <paramref name="selector"/> finds, as a user would (WebDriver's element click).</summary>
    public async Task ClickAsync(string selector) => await PostAsync(_http, $"session/{_session}/element/{await FindAsync(selector)}/click", new JsonObject());

    /// <summary>Types <paramref name="text"/> into the first element <paramref name="selector"/> finds.</summary>
    public async Task TypeAsync(string selector, string text) => await PostAsync(_http, $"session/{_session}/element/{await FindAsync(selector)}/value", new JsonObject { ["text"] = text });

    /// <summary>A PNG of the window as it is now.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        using var response = await _http.GetAsync($"session/{_session}/screenshot");
        var value = await ValueAsync(response);
        return Convert.FromBase64String(value.GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var _ = await _http.DeleteAsync($"session/{_session}");
        }
        catch (HttpRequestException)
        {
            // The driver is gone already; it is stopped below either way.
        }

        _http.Dispose();
        await ServerProcess.StopAsync(_driver);
    }

    private async Task<string> FindAsync(string selector)
    {
        var found = await PostAsync(_http, $"session/{_session}/element", new JsonObject { ["using"] = "css selector", ["value"] = selector });
        // A W3C element reference is an object with this one well-known key.
        return found.GetProperty("element-6066-11e4-a52e-4f735466cecf").GetString()!;
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, JsonObject body)
    {
        // With a length: ChromeDriver does not read chunked request bodies (as PostAsJsonAsync sends them).
        using var content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(path, content);
        return await ValueAsync(response);
    }

    private static async Task<JsonElement> ValueAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        var value = json.RootElement.GetProperty("value").Clone();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"WebDriver: {(int)response.StatusCode} {value}");
        }

        return value;
    }
}

/// <summary>A fact that needs Mosquitto and a headless Chromium; skipped with the reason when either is missing.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        Skip = !MosquittoBroker.Available ? MosquittoBroker.SkipReason : !HeadlessChromium.Available ? HeadlessChromium.SkipReason : null;
    }
}
