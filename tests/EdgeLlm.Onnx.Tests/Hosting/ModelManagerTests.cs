using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EdgeLlm.Onnx.Tests.Hosting;

public sealed class ModelManagerTests : IDisposable
{
    private const long Megabyte = 1 << 20;

    private readonly TempDirectory _temp = new();
    private readonly ChangingBoard _board = new();
    private readonly FakeTimeProvider _clock = new(TimeProvider.System.GetUtcNow());
    private readonly ModelCatalog _catalog;

    public ModelManagerTests()
    {
        // Three int4 builds from the shared files; each needs StoriesCatalog.RamBytes of memory to load.
        _catalog = CatalogReader.Read(StoriesCatalog.Write(_temp.Combine("catalog.json"),
            StoriesCatalog.Model("a", "int4", StoriesCatalog.FileSource()),
            StoriesCatalog.Model("b", "int4", StoriesCatalog.FileSource()),
            StoriesCatalog.Model("c", "int4", StoriesCatalog.Source(new Uri(_temp.Combine("missing.bin")).AbsoluteUri, new Uri(StoriesFiles.Tokenizer).AbsoluteUri))));
        _board.AvailableMb = 4096;
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task GetAsync_AnAbsentCatalogModel_PullsLoadsAndAnswersWithIt()
    {
        using var manager = await StartAsync();
        Assert.Contains("a", manager.Acquirable.Keys);
        Assert.DoesNotContain("a", manager.AvailableModels.Select(m => m.Id));

        using (var lease = await manager.GetAsync("a", CancellationToken.None))
        {
            Assert.Equal("a", lease!.Id);
            var response = await lease.Client.GetResponseAsync([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "Once upon a time")], new() { MaxOutputTokens = 8 });
            Assert.NotEmpty(response.Text);
        }

        Assert.Contains("a", manager.AvailableModels.Select(m => m.Id));
        Assert.Equal(["a"], manager.LoadedModelIds);
        Assert.DoesNotContain("a", manager.Acquirable.Keys);
        // What `edgellm model list` reads to tell which models the running node holds.
        using var http = new HttpClient();
        Assert.Equal(["a"], Onnx.Store.ModelStore.Open(_temp.Combine("store"), 0, [], http, new Onnx.Store.HubSettings(new Uri(Onnx.Store.HubSettings.DefaultEndpoint), Token: null), new RootedSysFs("/"), _clock, NullLogger.Instance).LoadedByRunningNode());
    }

    [Fact]
    public async Task GetAsync_AModelMemoryCannotHold_IsRefusedWithTheFigures()
    {
        _board.AvailableMb = 40;
        using var manager = await StartAsync();

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(async () => await manager.GetAsync("a", CancellationToken.None));

        // Whole mebibytes, rounded down, as the node states memory.
        Assert.Contains($"a needs {StoriesCatalog.RamBytes / Megabyte} MB of memory to load, but only {_board.AvailableMb} MB are free", failure.Message);
        Assert.Empty(manager.LoadedModelIds);
    }

    [Fact]
    public async Task GetAsync_WhenMemoryIsShort_UnloadsAnIdleModelToMakeRoom()
    {
        using var manager = await StartAsync();
        (await manager.GetAsync("a", CancellationToken.None))!.Dispose();
        _board.AvailableMb = 20;

        using var lease = await manager.GetAsync("b", CancellationToken.None);

        Assert.Equal(["b"], manager.LoadedModelIds);
    }

    [Fact]
    public async Task GetAsync_WhenMemoryIsShort_NeverUnloadsAPinnedModel()
    {
        using var manager = await StartAsync();
        await manager.PinAsync("a", CancellationToken.None);
        _board.AvailableMb = 20;

        await Assert.ThrowsAsync<ModelUnavailableException>(async () => await manager.GetAsync("b", CancellationToken.None));

        Assert.Equal(["a"], manager.LoadedModelIds);
    }

    [Fact]
    public async Task Housekeeping_UnloadsModelsIdlePastTheLimit_ButNotPinnedOnes()
    {
        using var manager = await StartAsync(idleUnloadMinutes: 5);
        (await manager.GetAsync("a", CancellationToken.None))!.Dispose();
        await manager.PinAsync("b", CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(["a", "b"], manager.LoadedModelIds);
        _clock.Advance(TimeSpan.FromMinutes(2));

        await Eventually.TrueAsync(() => manager.LoadedModelIds.Count == 1);
        Assert.Equal(["b"], manager.LoadedModelIds);
        Assert.Contains("a", manager.AvailableModels.Select(m => m.Id));
    }

    [Fact]
    public async Task EnsurePresent_ASourceThatFails_NamesItAndTakesTheModelOffTheAcquirableList()
    {
        using var manager = await StartAsync();
        Assert.Contains("c", manager.Acquirable.Keys);

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => manager.EnsurePresentAsync("c", CancellationToken.None));

        Assert.Contains("missing.bin: cannot be read", failure.Message);
        Assert.DoesNotContain("c", manager.Acquirable.Keys);
        Assert.Contains("a", manager.Acquirable.Keys);
    }

    [Fact]
    public async Task Start_ModelsLocalUnderAnotherName_IsServedAsTheCatalogEntryItHolds_AndThatEntryIsNotPulled()
    {
        string folder = _temp.Combine("fp32");
        using (var checkpoint = Onnx.Checkpoints.Llama2cCheckpoint.Open(StoriesFiles.Checkpoint))
        {
            Onnx.Building.ModelFolderBuilder.Build(checkpoint, Onnx.Checkpoints.Llama2cVocabulary.Read(StoriesFiles.Tokenizer, 512), Onnx.Building.Quantization.Fp32, folder, force: false);
        }

        var shipped = CatalogReader.Read(Repository.Combine("models", "catalog.json"));
        using var manager = await StartAsync(local: folder, catalog: shipped);

        Assert.Equal(["stories260k-fp32"], manager.AvailableModels.Select(m => m.Id));
        Assert.Equal(shipped.Find("stories260k-fp32"), manager.AvailableModels[0]);
        Assert.DoesNotContain("stories260k-fp32", manager.Acquirable.Keys);
        using var lease = await manager.GetAsync("stories260k-fp32", CancellationToken.None);
        Assert.Equal("stories260k-fp32", lease!.Id);
        Assert.DoesNotContain(Directory.GetDirectories(_temp.Combine("store")), d => !Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public async Task Start_APinnedModel_IsPulledAndLoaded()
    {
        using var manager = await StartAsync(pinned: ["b"]);

        await Eventually.TrueAsync(() => manager.LoadedModelIds.Contains("b"));

        Assert.Contains("b", manager.AvailableModels.Select(m => m.Id));
        await Assert.ThrowsAsync<ModelCommandException>(() => manager.UnloadAsync("b", CancellationToken.None));
    }

    [Fact]
    public async Task Unload_AnIdleModel_FreesIt_AndTheNextRequestLoadsItAgain()
    {
        using var manager = await StartAsync();
        (await manager.GetAsync("a", CancellationToken.None))!.Dispose();

        Assert.Equal(new ModelCommandResult("a", ModelCommandOutcome.Unloaded, "a unloaded"), await manager.UnloadAsync("a", CancellationToken.None));
        Assert.Empty(manager.LoadedModelIds);
        using var again = await manager.GetAsync("a", CancellationToken.None);
        Assert.Equal(["a"], manager.LoadedModelIds);
    }

    [Fact]
    public async Task Stop_WhileAPinnedModelIsPulled_EndsThePullBeforeItReturns_KeepingThePartToResume()
    {
        using var server = new ModelSourceServer { BytesPerSecond = 64 * 1024 };
        string checkpoint = server.Serve("stories260K.bin", File.ReadAllBytes(StoriesFiles.Checkpoint));
        var catalog = CatalogReader.Read(StoriesCatalog.Write(_temp.Combine("slow.json"),
            StoriesCatalog.Model("slow", "int4", StoriesCatalog.Source(checkpoint, new Uri(StoriesFiles.Tokenizer).AbsoluteUri))));
        using var manager = await StartAsync(pinned: ["slow"], catalog: catalog);
        await Eventually.TrueAsync(() => manager.Pulls.Any(p => p.Bytes > 0));

        await manager.StopAsync(CancellationToken.None);

        Assert.Empty(manager.Pulls);
        Assert.DoesNotContain("slow", manager.AvailableModels.Select(m => m.Id));
        Assert.Single(Snapshot(), entry => entry.Contains(".part", StringComparison.Ordinal));
    }

    private string[] Snapshot() =>
        [.. Directory.EnumerateFileSystemEntries(_temp.Combine("store"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(e => $"{e} {(File.Exists(e) ? new FileInfo(e).Length : -1)}")];

    private async Task<ModelServices> StartAsync(int idleUnloadMinutes = 30, string[]? pinned = null, string local = "", ModelCatalog? catalog = null)
    {
        var options = new LocalModelsOptions { StorePath = _temp.Combine("store"), IdleUnloadMinutes = idleUnloadMinutes, Pinned = pinned ?? [], Local = local };
        var models = new ModelServices(options, new ModelsOptions { MemoryReserveMb = 0 }, catalog ?? _catalog, _board, _clock);
        await models.StartAsync();
        return models;
    }

    // The node's local model services as AddEdgeOnnx composes them, started as the host starts them.
    private sealed class ModelServices : IDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly IHostedService[] _hosted;

        public ModelServices(LocalModelsOptions options, ModelsOptions routing, ModelCatalog catalog, IResourceSnapshotSource board, TimeProvider clock)
        {
            // The options as the test sets them (they win over what AddEdgeOnnx binds from the empty configuration).
            var services = new ServiceCollection()
                .AddSingleton(Options.Create(options))
                .AddSingleton(Options.Create(routing))
                .AddSingleton(Options.Create(new NodeOptions { Id = "pi-07", Tier = 0 }))
                .AddSingleton(catalog)
                .AddSingleton(board)
                .AddSingleton<ISysFs>(new RootedSysFs("/"))
                .AddSingleton(clock)
                .AddLogging()
                .AddMetrics()
                .AddSingleton<Core.Telemetry.NodeMetrics>()
                .AddEdgeOnnx(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
            _provider = services.BuildServiceProvider();
            _hosted = [.. _provider.GetServices<IHostedService>()];
        }

        public IReadOnlyList<CatalogModel> AvailableModels => Models.AvailableModels;

        public IReadOnlyList<string> LoadedModelIds => Models.LoadedModelIds;

        public IReadOnlyDictionary<string, double> Acquirable => Acquisition.Acquirable;

        public IReadOnlyList<PullProgress> Pulls => Acquisition.Pulls;

        private IModelProvider Models => _provider.GetRequiredService<IModelProvider>();

        private IModelAcquisition Acquisition => _provider.GetRequiredService<IModelAcquisition>();

        private IModelCommands Commands => _provider.GetRequiredService<IModelCommands>();

        public async Task StartAsync()
        {
            foreach (var service in _hosted)
            {
                await service.StartAsync(CancellationToken.None);
            }
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            foreach (var service in _hosted.Reverse())
            {
                await service.StopAsync(cancellationToken);
            }
        }

        public ValueTask<ModelLease?> GetAsync(string id, CancellationToken cancellationToken) => Models.GetAsync(id, cancellationToken);

        public Task EnsurePresentAsync(string id, CancellationToken cancellationToken) => Acquisition.EnsurePresentAsync(id, cancellationToken);

        public Task<ModelCommandResult> PinAsync(string id, CancellationToken cancellationToken) => Commands.PinAsync(id, cancellationToken);

        public Task<ModelCommandResult> UnloadAsync(string id, CancellationToken cancellationToken) => Commands.UnloadAsync(id, cancellationToken);

        public void Dispose() => _provider.Dispose();
    }

    // A board whose free memory the test sets.
    private sealed class ChangingBoard : IResourceSnapshotSource
    {
        public long AvailableMb { get; set; }

        public ResourceSnapshot Latest => new() { Memory = new MemoryState(TotalBytes: 8192 * Megabyte, AvailableBytes: AvailableMb * Megabyte) };
    }
}
