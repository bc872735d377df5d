using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLlm.Tests;
using EdgeLlm.Tests.HuggingFace;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// A fresh node and a Hugging Face model on demand: the hub is a loopback server that behaves as the real one
/// does (which cannot be reached here); the model is stories260K in the hub's layout, with a chat template.
/// </summary>
public sealed class HubTests : IClassFixture<MosquittoFixture>, IDisposable
{
    private const string Repo = "edgellm-test/stories260k-chat";

    // The template frames the user's words; the same words framed by hand go to a model without one.
    private const string ChatTemplate = "{% for message in messages %}Once upon a time, {{ message['content'] }}{% endfor %}";

    private readonly TempDirectory _temp = new();
    private readonly MosquittoFixture _mosquitto;
    private readonly ModelSourceServer _contentStore = new();
    private readonly HubServer _hub;

    public HubTests(MosquittoFixture mosquitto)
    {
        _mosquitto = mosquitto;
        _hub = new HubServer(_contentStore);
    }

    public void Dispose()
    {
        _hub.Dispose();
        _contentStore.Dispose();
        _temp.Dispose();
    }

    [MosquittoFact]
    public async Task AFreshNode_PullsAnHfModelFromTheHub_VerifiesAndConvertsIt_AndAnswersWithItsChatTemplate()
    {
        string hf = HfFolders.WriteStories(_temp.Combine("hf"));
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json")))!.AsObject();
        tokenizerConfig["chat_template"] = ChatTemplate;
        File.WriteAllText(Path.Combine(hf, "tokenizer_config.json"), tokenizerConfig.ToJsonString());
        string[] files = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];
        string commit = _hub.Publish(Repo, files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(hf, f))));

        var chat = StoriesCatalog.HfModel("stories-chat", "fp32", StoriesCatalog.HubSource(Repo, files));
        chat["domains"] = new JsonObject { ["chat"] = 0.9 };
        var plain = StoriesCatalog.Model("stories-plain", "fp32", StoriesCatalog.FileSource());
        plain["domains"] = new JsonObject { ["stories"] = 0.5 };
        string catalog = StoriesCatalog.Write(_temp.Combine("catalog.json"), chat, plain);
        string store = _temp.Combine("store");
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={_mosquitto.Broker.Server}", $"Models:CatalogPath={catalog}", "Models:OnDemand=auto", $"Models:StorePath={store}", $"Models:HfEndpoint={_hub.BaseUrl}");
        await using var requester = await TestRequester.ConnectAsync(_mosquitto.Broker.Server);

        using var templated = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/panel", """{"prompt": "Lily", "domain": "chat", "maxTokens": 16}""", TimeSpan.FromSeconds(60))).Payload);
        using var framedByHand = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/panel", """{"prompt": "Once upon a time, Lily", "domain": "stories", "maxTokens": 16}""", TimeSpan.FromSeconds(60))).Payload);
        using var unframed = JsonDocument.Parse((await requester.AskAsync("edgellm/ask/panel", """{"prompt": "Lily", "domain": "stories", "maxTokens": 16}""", TimeSpan.FromSeconds(60))).Payload);

        Assert.Equal("stories-chat", templated.RootElement.GetProperty("model").GetString());
        Assert.Contains("acquire", templated.RootElement.GetProperty("route").GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("stories-plain", framedByHand.RootElement.GetProperty("model").GetString());
        Assert.Equal(framedByHand.RootElement.GetProperty("text").GetString(), templated.RootElement.GetProperty("text").GetString());
        Assert.NotEqual(unframed.RootElement.GetProperty("text").GetString(), templated.RootElement.GetProperty("text").GetString());

        var list = await CliRun.Of("model", "list", "--json", "--store", store, "--catalog", catalog);
        var source = JsonDocument.Parse(list.Output).RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetString() == "stories-chat").GetProperty("source");
        Assert.Equal(($"hf://{Repo}@main", commit), (source.GetProperty("source").GetString(), source.GetProperty("commit").GetString()));
        Assert.Equal(HubServer.Sha256(File.ReadAllBytes(Path.Combine(hf, "model.safetensors"))), source.GetProperty("files").GetProperty("model.safetensors").GetProperty("sha256").GetString());
    }
}
