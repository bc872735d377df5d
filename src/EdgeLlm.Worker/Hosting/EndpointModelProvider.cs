using System.ClientModel;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;

namespace EdgeLlm.Worker.Hosting;

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

    /// <param name="catalog">Describes the endpoint's model: the file's entry, else the one made from Models:OpenAi.</param>
    public EndpointModelProvider(IOptions<ModelsOptions> options, ModelCatalog catalog, TimeProvider time, ILogger<EndpointModelProvider> logger)
    {
        var endpoint = options.Value.OpenAi;
        var (key, keySource) = ApiKey(endpoint);
        var openAi = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(endpoint.Endpoint),
            NetworkTimeout = TimeSpan.FromMilliseconds(endpoint.TimeoutMs),
        });
        _client = new EndpointChatClient(openAi.GetChatClient(endpoint.Model).AsIChatClient(), endpoint, time);
        _model = new ModelLease(endpoint.Model, _client);
        // The node's catalog always holds it: AddEdgeCore adds the Models:OpenAi entry where the file has none.
        _description = catalog.Find(endpoint.Model) ?? throw new InvalidOperationException($"the catalog does not describe {endpoint.Model}");
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

/// <summary>
/// The endpoint's chat client held to EdgeLlm's rules: it stops at the request's deadline (reporting
/// <see cref="ChatDeadline.FinishReason"/>), sends the server none of EdgeLlm's own options, and turns a
/// server that cannot be reached or refuses the call into <see cref="EngineUnavailableException"/>.
/// </summary>
internal sealed class EndpointChatClient(IChatClient inner, OpenAiOptions endpoint, TimeProvider time) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var deadline = ChatDeadline.Of(options);
        var sent = options?.Clone();
        sent?.AdditionalProperties?.Remove(ChatDeadline.Property);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (deadline is DateTimeOffset at)
        {
            var left = at - time.GetUtcNow();
            limit.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        try
        {
            return await base.GetResponseAsync(messages, sent, limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new ChatResponse([]) { FinishReason = ChatDeadline.FinishReason };
        }
        catch (ClientResultException e)
        {
            throw new EngineUnavailableException($"{endpoint.Endpoint} answered {(e.Status > 0 ? $"HTTP {e.Status}" : "nothing")}: {e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineUnavailableException($"{endpoint.Endpoint} could not be reached within {endpoint.TimeoutMs} ms: {e.Message}", e);
        }
    }
}
