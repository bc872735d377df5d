using System.Text.Json;
using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests;

/// <summary>`edgellm model list | pull | rm | pin | unpin` on a store and catalog of the test's own.</summary>
public sealed class StoreCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _store;
    private readonly string _catalog;

    public StoreCommandTests()
    {
        _store = _temp.Combine("store");
        _catalog = StoriesCatalog.Write(_temp.Combine("catalog.json"),
            StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.FileSource()),
            StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.FileSource()),
            StoriesCatalog.Model("stories-offline", "int4", StoriesCatalog.Source("http://127.0.0.1:9/stories260K.bin", new Uri(StoriesFiles.Tokenizer).AbsoluteUri)));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task List_ShowsTheCatalogWithWhatIsPresentAndPinned()
    {
        Assert.Equal(0, (await CliRun.Of("model", "pull", "stories260k-int8", "--store", _store, "--catalog", _catalog)).ExitCode);
        Assert.Equal(0, (await CliRun.Of("model", "pin", "stories260k-int4", "--store", _store, "--catalog", _catalog)).ExitCode);

        var run = await CliRun.Of("model", "list", "--json", "--store", _store, "--catalog", _catalog);

        Assert.Equal(0, run.ExitCode);
        var entries = JsonDocument.Parse(run.Output).RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!);
        Assert.Equal((true, false), (entries["stories260k-int8"].GetProperty("present").GetBoolean(), entries["stories260k-int8"].GetProperty("pinned").GetBoolean()));
        Assert.Equal((true, true), (entries["stories260k-int4"].GetProperty("present").GetBoolean(), entries["stories260k-int4"].GetProperty("pinned").GetBoolean()));
        Assert.False(entries["stories-offline"].GetProperty("present").GetBoolean());
        Assert.False(entries["stories260k-int8"].GetProperty("loaded").GetBoolean());
        Assert.InRange(entries["stories260k-int8"].GetProperty("bytes").GetInt64(), 350_000, 450_000);
    }

    [Fact]
    public async Task Pull_ThenRm_InstallsAndRemovesTheModelFolder()
    {
        var pulled = await CliRun.Of("model", "pull", "stories260k-int4", "--store", _store, "--catalog", _catalog);
        string folder = JsonDocument.Parse(pulled.Output).RootElement.GetProperty("folder").GetString()!;
        Assert.True(File.Exists(Path.Combine(folder, "genai_config.json")));

        var removed = await CliRun.Of("model", "rm", "stories260k-int4", "--store", _store);

        Assert.Equal((0, "stories260k-int4 removed"), (removed.ExitCode, removed.Output.Trim()));
        Assert.False(Directory.Exists(folder));
        Assert.Contains("is not in the store", (await CliRun.Of("model", "rm", "stories260k-int4", "--store", _store)).SingleErrorLine(1));
    }

    [Fact]
    public async Task Pull_ASourceThatFails_ExitsOneNamingTheSourceAndTheReason()
    {
        var run = await CliRun.Of("model", "pull", "stories-offline", "--store", _store, "--catalog", _catalog);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("stories-offline could not be pulled: http://127.0.0.1:9/stories260K.bin: could not be reached", run.Error);
        Assert.False(Directory.Exists(Path.Combine(_store, "stories-offline")));
    }

    [Fact]
    public async Task Pull_AnIdOutsideTheCatalog_ExitsOne()
    {
        var run = await CliRun.Of("model", "pull", "no-such-model", "--store", _store, "--catalog", _catalog);

        Assert.Contains("no-such-model is not in the catalog", run.SingleErrorLine(1));
    }

    [Fact]
    public async Task Unpin_LetsThePinGo()
    {
        await CliRun.Of("model", "pin", "stories260k-int8", "--store", _store, "--catalog", _catalog);

        var run = await CliRun.Of("model", "unpin", "stories260k-int8", "--store", _store);

        Assert.Equal(0, run.ExitCode);
        var list = await CliRun.Of("model", "list", "--json", "--store", _store, "--catalog", _catalog);
        Assert.DoesNotContain(JsonDocument.Parse(list.Output).RootElement.EnumerateArray(), e => e.GetProperty("pinned").GetBoolean());
    }
}
