using System.ClientModel;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Worker.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;

namespace EdgeLlm.Worker.Engines.OpenAiCompatible;

/// <summary>
/// Serves Models:OpenAi: an OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API) as the
/// node's model, through Microsoft.Extensions.AI.OpenAI, so that a top tier is the same `edgellm serve` in
/// front of an existing inference server (docs/design.md §1, §4).
/// </summary>
internal sealed partial class EndpointModelProvider : IModelProvider, IDisposable
{
    /// <summary>The variables read for the API key when Models:OpenAi:ApiKeyFile is not set, in this order.</summary>
    public static readonly string[] ApiKeyVariables = ["EDGELLM_OPENAI_API_KEY", "OPENAI_API_KEY"];

    // Servers without authentication (a local vLLM or Ollama) ignore the key, but the client insists on one.
    private const string NoKey = "none";

    private readonly ModelLease _model;
    private readonly EndpointChatClient _client;
    private readonly CatalogModel _description;

    /// <param name="catalog">Describes the endpoint's model when it has an entry of that id; else Models:OpenAi does.</param>
    public EndpointModelProvider(IOptions<OpenAiOptions> options, IOptions<NodeOptions> node, ModelCatalog catalog, TimeProvider time, ILogger<EndpointModelProvider> logger)
    {
        var endpoint = options.Value;
        var (key, keySource) = ApiKey(endpoint);
        var openAi = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(endpoint.Endpoint),
            NetworkTimeout = TimeSpan.FromMilliseconds(endpoint.TimeoutMs),
        });
        // Microsoft.Extensions.AI's GenAI spans of the call, under the node's generation span (their own
        // source, so that its metrics of the same names stay apart from the node's).
        var traced = openAi.GetChatClient(endpoint.Model).AsIChatClient().AsBuilder().UseOpenTelemetry(sourceName: NodeTelemetry.EndpointSourceName).Build();
        _client = new EndpointChatClient(traced, endpoint, time);
        _model = new ModelLease(endpoint.Model, _client);
        _description = catalog.Find(endpoint.Model) ?? endpoint.Describe(node.Value.Tier);
        Log.Serving(logger, endpoint.Model, endpoint.Endpoint, keySource, endpoint.ThirdParty);
    }

    public IReadOnlyList<CatalogModel> AvailableModels => [_description];

    public IReadOnlyList<string> LoadedModelIds => [_model.Id];

    // The endpoint is the node's one model, whatever the id asked for; it is never unloaded.
    public ValueTask<ModelLease?> GetAsync(string modelId, CancellationToken cancellationToken) => new(_model);

    public void Dispose() => _client.Dispose();

    private static (string Key, string Source) ApiKey(OpenAiOptions endpoint)
    {
        if (endpoint.ApiKeyFile.Length > 0)
        {
            return (File.ReadLines(endpoint.ApiKeyFile).FirstOrDefault()?.Trim() is { Length: > 0 } key ? key : NoKey, endpoint.ApiKeyFile);
        }

        foreach (string variable in ApiKeyVariables)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } key)
            {
                return (key, variable);
            }
        }

        return (NoKey, "none");
    }

}
