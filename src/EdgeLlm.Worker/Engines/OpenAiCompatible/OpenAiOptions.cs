using System.ComponentModel.DataAnnotations;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Engines.OpenAiCompatible;

/// <summary>Configuration section "Models:OpenAi": a node whose model is an OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API).</summary>
internal sealed class OpenAiOptions : IValidatableObject
{
    public const string Section = "Models:OpenAi";

    /// <summary>The server's base address, e.g. http://gateway:8080/v1; empty means none.</summary>
    [HttpAddress]
    public string Endpoint { get; set; } = "";

    /// <summary>The model name the server knows; also the id answers name it by.</summary>
    public string Model { get; set; } = "";

    /// <summary>A file holding the API key (its first line); else EDGELLM_OPENAI_API_KEY or OPENAI_API_KEY.</summary>
    [ExistingFile]
    public string ApiKeyFile { get; set; } = "";

    /// <summary>Run by someone outside the fleet: `privacy: fleet` and `privacy: local` requests never go there.</summary>
    public bool ThirdParty { get; set; }

    /// <summary>The quality (0 to 1) it answers with, in every domain it covers.</summary>
    [Between(0, 1)]
    public double Quality { get; set; } = 0.8;

    /// <summary>The domains it covers; empty means every domain.</summary>
    public string[] Domains { get; set; } = [];

    [Between(1, 3_600_000)]
    public int TimeoutMs { get; set; } = 60_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Endpoint.Length > 0 && Model.Length == 0)
        {
            yield return new ValidationResult("Models:OpenAi:Endpoint needs Models:OpenAi:Model");
        }
    }

    /// <summary>
    /// The endpoint's model as a node serving it describes it when its catalog does not: the configured
    /// quality in the configured domains (every domain when none are listed), reached over HTTP.
    /// </summary>
    public CatalogModel Describe(int tier) => new()
    {
        Id = Model,
        Tier = tier,
        Format = ModelFormats.OpenAi,
        Endpoint = Endpoint,
        ThirdParty = ThirdParty,
        Domains = Domains.Length == 0
            ? new Dictionary<string, double> { [CatalogModel.AnyDomain] = Quality }
            : Domains.Distinct(StringComparer.Ordinal).ToDictionary(domain => domain, _ => Quality, StringComparer.Ordinal),
    };
}

[OptionsValidator]
internal sealed partial class OpenAiOptionsValidator : IValidateOptions<OpenAiOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<OpenAiOptions> Keyed { get; } = new KeyedValidator<OpenAiOptions>(OpenAiOptions.Section, new OpenAiOptionsValidator());
}
