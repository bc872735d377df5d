using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Engines.OpenAiCompatible;

/// <summary>The OpenAI-compatible engine as a node's model: registered instead of the local engine when Models:OpenAi:Endpoint is set.</summary>
internal static class OpenAiEngine
{
    public static bool IsConfigured(IConfiguration configuration) => configuration[$"{OpenAiOptions.Section}:{nameof(OpenAiOptions.Endpoint)}"] is { Length: > 0 };

    public static IServiceCollection AddOpenAiEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OpenAiOptions>().Bind(configuration.GetSection(OpenAiOptions.Section)).ValidatedBy(OpenAiOptionsValidator.Keyed);
        // Models:Local belongs to the local engine, which this node does not run: given too, it is a mistake to say, not to ignore.
        bool localGiven = configuration[$"{ModelsOptions.Section}:Local"] is { Length: > 0 };
        services.AddSingleton<IValidateOptions<OpenAiOptions>>(new ValidateOptions<OpenAiOptions>(
            name: null, _ => !localGiven, "Models:Local and Models:OpenAi:Endpoint exclude each other: a node serves one model"));
        services.AddSingleton<IModelProvider, EndpointModelProvider>();
        return services;
    }
}
