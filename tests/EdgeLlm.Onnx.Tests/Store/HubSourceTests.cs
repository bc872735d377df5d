using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;
using EdgeLlm.Onnx.Store;
using EdgeLlm.Tests;
using EdgeLlm.Tests.HuggingFace;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLlm.Onnx.Tests.Store;

/// <summary>Pulls from hf sources against a loopback server that behaves as the Hugging Face hub does (the real one cannot be reached here).</summary>
public sealed class HubSourceTests : IDisposable
{
    private const string Repo = "edgellm-test/stories260k-hf";

    private static readonly string[] HfFiles = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];

    private readonly TempDirectory _temp = new();
    private readonly ModelSourceServer _contentStore = new();
    private readonly HubServer _hub;
    private readonly HttpClient _http = new(ModelStore.CreateHttpHandler());
    private readonly Dictionary<string, byte[]> _files;

    public HubSourceTests()
    {
        _hub = new HubServer(_contentStore);
        string folder = HfFolders.WriteStories(_temp.Combine("hf"));
        _files = HfFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(folder, f)), StringComparer.Ordinal);
    }

    public void Dispose()
    {
        _http.Dispose();
        _hub.Dispose();
        _contentStore.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task Pull_AnHfModel_FetchesItsFilesAtOneCommit_VerifiesThemByTheHubsHashes_AndConvertsIt()
    {
        string commit = _hub.Publish(Repo, _files);
        using var store = OpenStore();

        var stored = await store.PullAsync(HfModel("stories260k-hf-fp32", "fp32"), () => [], CancellationToken.None);

        // The first file fixes the commit; the others are fetched at it.
        Assert.Equal($"HEAD /{Repo}/resolve/main/config.json", _hub.Requests[0]);
        Assert.All(_hub.Requests.Skip(1).Where(r => r.StartsWith("HEAD", StringComparison.Ordinal)), r => Assert.Contains($"/resolve/{commit}/", r));
        var receipt = SourceReceipt.Read(stored.Folder)!;
        Assert.Equal(($"hf://{Repo}@main", "main", commit), (receipt.Source, receipt.Revision, receipt.Commit));
        Assert.Equal(_files.ToDictionary(f => f.Key, f => HubServer.Sha256(f.Value)), receipt.Files.ToDictionary(f => f.Key, f => f.Value.Sha256));
        Assert.Equal("the hub's sha256", receipt.Files["model.safetensors"].VerifiedBy);
        Assert.Equal("the hub's git-sha1", receipt.Files["config.json"].VerifiedBy);
        // llama2.c's own greedy continuation, through the hub and the converter.
        var greedy = StoriesFiles.Reference.GetProperty("greedy_cases")[0];
        using var model = LocalModel.Load(stored.Folder);
        int[] expected = StoriesFiles.Ids(greedy.GetProperty("greedy_next_ids"));
        Assert.Equal(expected, model.Generate(StoriesFiles.Ids(greedy.GetProperty("prompt_ids")), new GenerationSettings { MaxNewTokens = expected.Length }).TokenIds);
        Assert.Empty(Directory.GetFiles(Path.Combine(store.Root, ".downloads")));
    }

    [Fact]
    public async Task Pull_AGatedRepository_WithoutAToken_SaysHowToGiveOne_AndWithIt_NeverSendsItToTheContentStore()
    {
        _hub.Publish(Repo, _files, token: "hf_secret");
        var model = HfModel("stories260k-hf-int8", "int8");

        using (var anonymous = OpenStore())
        {
            var refusal = await Assert.ThrowsAsync<ModelUnavailableException>(() => anonymous.PullAsync(model, () => [], CancellationToken.None));
            Assert.Contains($"hf://{Repo}@main: is gated or private (HTTP 401): set HF_TOKEN, or put a token in Models:HfTokenFile", refusal.Message);
        }

        using var authorized = OpenStore(token: "hf_secret");
        var stored = await authorized.PullAsync(model, () => [], CancellationToken.None);

        Assert.True(File.Exists(Path.Combine(stored.Folder, GenAiConfig.FileName)));
        Assert.Equal(0, _contentStore.AuthorizedRequests);
    }

    [Theory]
    [InlineData("model.safetensors", "sha256")]
    [InlineData("tokenizer.json", "git blob sha1")]
    public async Task Pull_AFileThatIsNotWhatTheHubSays_InstallsNothing(string file, string digest)
    {
        _hub.Publish(Repo, _files);
        _hub.Tamper(Repo, file, [.. _files[file].Reverse()]);
        using var store = OpenStore();

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(HfModel("stories260k-hf-int4", "int4"), () => [], CancellationToken.None));

        Assert.Contains($"its {digest} is", failure.Message);
        Assert.Contains("as the hub says; the download was discarded", failure.Message);
        Assert.Empty(store.List());
    }

    [Fact]
    public async Task Pull_TheCatalogsSha256_WinsOverTheHubs()
    {
        _hub.Publish(Repo, _files);
        using var store = OpenStore();
        var model = HfModel("stories260k-hf-int4", "int4", new Dictionary<string, string> { ["model.safetensors"] = new string('0', 64) });

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(model, () => [], CancellationToken.None));

        Assert.Contains($"not {new string('0', 64)} as the catalog says", failure.Message);
    }

    [Fact]
    public async Task Pull_ADownloadCutOffMidway_IsResumedWithARange()
    {
        _hub.Publish(Repo, _files);
        string blob = HubServer.Sha256(_files["model.safetensors"]);
        _contentStore.CutNextAfter(blob, 100_000);
        using var store = OpenStore();

        await store.PullAsync(HfModel("stories260k-hf-int4", "int4"), () => [], CancellationToken.None);

        Assert.Equal([0L, 100_000L], _contentStore.RequestsFor(blob));
    }

    [Fact]
    public async Task Pull_AnOnnxGenAiFolderFromTheHub_IsInstalledAsItIs()
    {
        string built = _temp.Combine("built");
        using (var checkpoint = HfCheckpoint.Open(_temp.Combine("hf")))
        {
            ModelFolderBuilder.Build(checkpoint, HfTokenizer.Open(_temp.Combine("hf"), checkpoint.Config), Quantization.Int4, built, force: false);
        }

        var files = Directory.GetFiles(built).ToDictionary(f => $"cpu-int4/{Path.GetFileName(f)}", File.ReadAllBytes, StringComparer.Ordinal);
        _hub.Publish("edgellm-test/stories260k-onnx", files);
        var source = StoriesCatalog.HubSource("edgellm-test/stories260k-onnx", files.Keys.Select(f => f["cpu-int4/".Length..]));
        source["subfolder"] = "cpu-int4";
        var entry = StoriesCatalog.Model("stories260k-onnx", "int4", source);
        entry["format"] = "onnx-genai";
        using var store = OpenStore();

        var stored = await store.PullAsync(Catalog(entry).Models[0], () => [], CancellationToken.None);

        Assert.Equal(File.ReadAllBytes(Path.Combine(built, ModelFolderBuilder.ModelFile)), File.ReadAllBytes(Path.Combine(stored.Folder, ModelFolderBuilder.ModelFile)));
        Assert.Equal("hf://edgellm-test/stories260k-onnx@main/cpu-int4", SourceReceipt.Read(stored.Folder)?.Source);
    }

    [Fact]
    public async Task Pull_WithTheHubUnreachable_SaysSo()
    {
        using var store = ModelStore.Open(_temp.Combine("store"), 0, [], _http, new HubSettings(new Uri("http://127.0.0.1:9/"), null), new RootedSysFs("/"), TimeProvider.System, NullLogger.Instance);

        var failure = await Assert.ThrowsAsync<ModelUnavailableException>(() => store.PullAsync(HfModel("stories260k-hf-int4", "int4"), () => [], CancellationToken.None));

        Assert.Contains($"hf://{Repo}@main: the hub at http://127.0.0.1:9/ could not be reached", failure.Message);
    }

    private CatalogModel HfModel(string id, string quantization, IReadOnlyDictionary<string, string>? sha256 = null) =>
        Catalog(StoriesCatalog.HfModel(id, quantization, StoriesCatalog.HubSource(Repo, HfFiles, sha256: sha256))).Models[0];

    private ModelCatalog Catalog(params System.Text.Json.Nodes.JsonObject[] models) => CatalogReader.Read(StoriesCatalog.Write(_temp.Combine($"catalog-{Guid.NewGuid():N}.json"), models));

    private ModelStore OpenStore(string? token = null) =>
        ModelStore.Open(_temp.Combine($"store-{token}"), 0, [], _http, new HubSettings(new Uri(_hub.BaseUrl + "/"), token), new RootedSysFs("/"), TimeProvider.System, NullLogger.Instance);
}
