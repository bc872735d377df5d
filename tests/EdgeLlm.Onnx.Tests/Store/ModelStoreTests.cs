using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.Inspection;
using EdgeLlm.Onnx.Store;
using EdgeLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Onnx.Tests.Store;

public sealed class ModelStoreTests : IClassFixture<Stories260kModels>, IDisposable
{
    private readonly Stories260kModels _models;
    private readonly TempDirectory _temp = new();
    private readonly ModelSourceServer _server = new();
    private readonly HttpClient _http = new(ModelStore.CreateHttpHandler());

    // No test here reaches the hub: hf sources have tests of their own against a hub-like server.
    private static readonly HubSettings Hub = new(new Uri(HubSettings.DefaultEndpoint), Token: null);
    private readonly string _checkpointUrl;
    private readonly string _tokenizerUrl;

    public ModelStoreTests(Stories260kModels models)
    {
        _models = models;
        _checkpointUrl = _server.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint));
        _tokenizerUrl = _server.Serve("tok512.bin", File.ReadAllBytes(StoriesFiles.Tokenizer));
    }

    public void Dispose()
    {
        _server.Dispose();
        _http.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Pull_OverHttp_VerifiesConvertsAndAnswersAsTheModelBuiltByHand()
    {
        var catalog = Catalog(StoriesCatalog.Model("stories260k-fp32", "fp32", StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));
        var store = OpenStore();
        var ended = new List<(string, StoredModel?)>();
        store.PullEnded += (id, model) => ended.Add((id, model));

        var stored = await store.PullAsync(catalog.Find("stories260k-fp32")!, () => [], CancellationToken.None);

        Assert.Equal([("stories260k-fp32", stored)], ended);
        Assert.Equal(Path.Combine(store.Root, "stories260k-fp32"), stored.Folder);
        Assert.Equal(stored.Folder, Assert.Single(store.List()).Folder);
        Assert.Equal(ContinuationOf(_models.Folder(Quantization.Fp32)), ContinuationOf(stored.Folder));
        // The downloads served their purpose: only the model stays.
        Assert.Empty(Directory.GetFiles(Path.Combine(store.Root, ".downloads")));
    }

    [Fact]
    public async Task Pull_FromFileUrls_InstallsTheQuantizationTheCatalogNames()
    {
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.FileSource()));
        var store = OpenStore();

        var stored = await store.PullAsync(catalog.Find("stories260k-int4")!, () => [], CancellationToken.None);

        Assert.Equal("int4", ModelInspector.Inspect(stored.Folder).Quantization);
        Assert.Empty(_server.RequestsFor("stories260K.bin"));
    }

    [Fact]
    public async Task Pull_ASourceWhoseBytesDoNotMatch_IsRefusedAndTheNextSourceServes()
    {
        byte[] tampered = File.ReadAllBytes(StoriesFiles.Checkpoint);
        tampered[^1] ^= 0xff;
        string tamperedUrl = _server.Serve("mirror/stories260K.bin", tampered);
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.Source(tamperedUrl, _tokenizerUrl), StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));
        var store = OpenStore();

        var stored = await store.PullAsync(catalog.Find("stories260k-int8")!, () => [], CancellationToken.None);

        Assert.Single(_server.RequestsFor("mirror/stories260K.bin"));
        Assert.Single(_server.RequestsFor("stories260K.bin"));
        Assert.Equal("stories260k-int8", stored.Id);
    }

    [Fact]
    public async Task Pull_EverySourceFailing_NamesEachAndInstallsNothing()
    {
        byte[] tampered = File.ReadAllBytes(StoriesFiles.Checkpoint);
        tampered[0] ^= 0xff;
        string tamperedUrl = _server.Serve("mirror/stories260K.bin", tampered);
        string missingUrl = _server.Url("gone/stories260K.bin");
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.Source(tamperedUrl, _tokenizerUrl), StoriesCatalog.Source(missingUrl, _tokenizerUrl)));
        var store = OpenStore();
        var ended = new List<(string, StoredModel?)>();
        store.PullEnded += (id, model) => ended.Add((id, model));

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(catalog.Find("stories260k-int8")!, () => [], CancellationToken.None));

        Assert.Equal([("stories260k-int8", (StoredModel?)null)], ended);
        Assert.Contains($"{tamperedUrl}: its sha256 is", failure.Message);
        Assert.Contains($"{missingUrl}: answered HTTP 404", failure.Message);
        Assert.Empty(store.List());
        Assert.DoesNotContain(Directory.GetFileSystemEntries(store.Root), e => !Path.GetFileName(e).StartsWith('.'));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(store.Root, ".downloads")), f => f.Contains(StoriesCatalog.Sha256Of(tampered), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pull_ASourceThatFails_IsNotCountedOnForAnyModelItServes_UntilItsBackoffEnds()
    {
        string missingUrl = _server.Url("gone/stories260K.bin");
        var catalog = Catalog(
            StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.Source(missingUrl, _tokenizerUrl)),
            StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.Source(missingUrl, _tokenizerUrl)),
            StoriesCatalog.Model("stories260k-fp32", "fp32", StoriesCatalog.Source(missingUrl, _tokenizerUrl), StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        var store = OpenStore(time: clock);

        await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(catalog.Find("stories260k-int4")!, () => [], CancellationToken.None));

        // The other build of the same checkpoint would fail the same way; a model with another source may still be tried.
        Assert.False(store.HasSourceToTry(catalog.Find("stories260k-int4")!));
        Assert.False(store.HasSourceToTry(catalog.Find("stories260k-int8")!));
        Assert.True(store.HasSourceToTry(catalog.Find("stories260k-fp32")!));
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.True(store.HasSourceToTry(catalog.Find("stories260k-int8")!));
    }

    [Fact]
    public async Task Pull_ADownloadCutHalfway_ResumesFromWhereItBrokeAndVerifies()
    {
        long half = new FileInfo(StoriesFiles.Checkpoint).Length / 2;
        _server.CutNextAfter("stories260K.bin", half);
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));
        var store = OpenStore();

        var stored = await store.PullAsync(catalog.Find("stories260k-int8")!, () => [], CancellationToken.None);

        Assert.Equal([0, half], _server.RequestsFor("stories260K.bin"));
        Assert.Equal(ContinuationOf(_models.Folder(Quantization.Int8)), ContinuationOf(stored.Folder));
    }

    [Fact]
    public async Task Pull_APartLeftByAnEarlierProcess_IsResumedNotRestarted()
    {
        byte[] checkpoint = File.ReadAllBytes(StoriesFiles.Checkpoint);
        string root = _temp.Combine("store");
        Directory.CreateDirectory(Path.Combine(root, ".downloads"));
        File.WriteAllBytes(Path.Combine(root, ".downloads", $"{StoriesCatalog.CheckpointSha256}.part"), checkpoint[..300_000]);
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int8", "int8", StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));

        var stored = await OpenStore(root).PullAsync(catalog.Find("stories260k-int8")!, () => [], CancellationToken.None);

        Assert.Equal([300_000], _server.RequestsFor("stories260K.bin"));
        Assert.True(Directory.Exists(stored.Folder));
    }

    [Fact]
    public void Open_AfterAnInstallThatDidNotFinish_LeavesNoHalfInstalledModel()
    {
        string root = _temp.Combine("store");
        string leftover = Path.Combine(root, ".stories260k-int8.partial-0123456789abcdef");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, "model.onnx"), "half a model");

        var store = OpenStore(root);

        Assert.False(Directory.Exists(leftover));
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Pull_TwentyAtOnce_DownloadsOnceAndGivesEachTheModel()
    {
        _server.BytesPerSecond = 4 << 20;
        var catalog = Catalog(StoriesCatalog.Model("stories260k-int4", "int4", StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)));
        var store = OpenStore();

        var pulls = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => store.PullAsync(catalog.Find("stories260k-int4")!, () => [], CancellationToken.None))));

        Assert.Single(_server.RequestsFor("stories260K.bin"));
        Assert.Single(_server.RequestsFor("tok512.bin"));
        Assert.All(pulls, p => Assert.Equal(Path.Combine(store.Root, "stories260k-int4"), p.Folder));
    }

    [Fact]
    public async Task Pull_PastTheDiskBudget_EvictsTheLeastRecentlyUsedUnpinnedModel()
    {
        var catalog = Catalog(Copies("a", "b", "c"));
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow().AddHours(1));
        // Room for two int4 builds, not three.
        var store = OpenStore(budgetBytes: StoriesCatalog.BuildBytes["int4"] * 5 / 2, time: clock);
        await store.PullAsync(catalog.Find("a")!, () => [], CancellationToken.None);
        await store.PullAsync(catalog.Find("b")!, () => [], CancellationToken.None);
        store.Touch("a");

        await store.PullAsync(catalog.Find("c")!, () => [], CancellationToken.None);

        Assert.Equal(["a", "c"], store.List().Select(m => m.Id).Order());
    }

    [Fact]
    public async Task Pull_PastTheDiskBudget_NeverEvictsAPinnedOrLoadedModel()
    {
        var catalog = Catalog(Copies("a", "b", "c"));
        var store = OpenStore(budgetBytes: StoriesCatalog.BuildBytes["int4"] * 5 / 2);
        await store.PullAsync(catalog.Find("a")!, () => [], CancellationToken.None);
        await store.PullAsync(catalog.Find("b")!, () => [], CancellationToken.None);
        store.Pin("a");

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(catalog.Find("c")!, () => ["b"], CancellationToken.None));

        Assert.Contains("Models:DiskBudgetMb", failure.Message);
        Assert.Contains("(a, b)", failure.Message);
        Assert.Equal(["a", "b"], store.List().Select(m => m.Id).Order());
        Assert.Empty(_server.RequestsFor("stories260K.bin").Skip(2));
    }

    [Fact]
    public async Task Remove_APinnedModel_TakesItsPinAlong_ButAConfiguredPinStays()
    {
        var catalog = Catalog(Copies("a", "b"));
        var store = OpenStore(configuredPins: ["b"]);
        await store.PullAsync(catalog.Find("a")!, () => [], CancellationToken.None);
        await store.PullAsync(catalog.Find("b")!, () => [], CancellationToken.None);
        store.Pin("a");

        Assert.True(store.Remove("a"));
        Assert.Throws<ModelCommandException>(() => store.Remove("b"));
        Assert.Throws<ModelCommandException>(() => store.Unpin("b"));

        Assert.False(store.IsPinned("a"));
        Assert.Equal("b", Assert.Single(store.List()).Id);
    }

    [Theory]
    [InlineData("zip")]
    [InlineData("tar.gz")]
    public async Task Pull_AnOnnxGenAiArchive_UnpacksTheFolderIntoPlace(string kind)
    {
        string folder = _models.Folder(Quantization.Int8);
        string archive = _temp.Combine($"stories.{kind}");
        if (kind == "zip")
        {
            ZipFile.CreateFromDirectory(folder, archive, CompressionLevel.Fastest, includeBaseDirectory: true);
        }
        else
        {
            await using var file = File.Create(archive);
            await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
            await TarFile.CreateFromDirectoryAsync(folder, gzip, includeBaseDirectory: false);
        }

        byte[] bytes = File.ReadAllBytes(archive);
        var entry = StoriesCatalog.Model("stories-packed", "int8", new JsonObject { ["url"] = _server.Serve($"stories.{kind}", bytes), ["sha256"] = StoriesCatalog.Sha256Of(bytes) });
        entry["format"] = "onnx-genai";
        var store = OpenStore();

        var stored = await store.PullAsync(Catalog(entry).Find("stories-packed")!, () => [], CancellationToken.None);

        Assert.Equal(ContinuationOf(folder), ContinuationOf(stored.Folder));
    }

    private JsonObject[] Copies(params string[] ids) =>
        [.. ids.Select(id => StoriesCatalog.Model(id, "int4", StoriesCatalog.Source(_checkpointUrl, _tokenizerUrl)))];

    private ModelCatalog Catalog(params JsonObject[] entries) =>
        CatalogReader.Read(StoriesCatalog.Write(_temp.Combine($"catalog-{Guid.NewGuid():N}.json"), entries));

    private ModelStore OpenStore(string? root = null, long budgetBytes = 0, string[]? configuredPins = null, TimeProvider? time = null) =>
        ModelStore.Open(root ?? _temp.Combine("store"), budgetBytes, configuredPins ?? [], _http, Hub, new RootedSysFs("/"), time ?? TimeProvider.System, NullLogger.Instance);

    private static string ContinuationOf(string folder)
    {
        using var model = LocalModel.Load(folder);
        return model.Generate(model.Encode("Once upon a time"), new GenerationSettings { MaxNewTokens = 24 }).Text;
    }
}
