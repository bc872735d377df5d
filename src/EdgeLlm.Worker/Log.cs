using Microsoft.Extensions.Logging;

namespace EdgeLlm.Worker;

/// <summary>Every log message of EdgeLlm.Worker, with its event id (51xx the OpenAI-compatible engine): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(5101, LogLevel.Information, "Serving {Model} from the OpenAI-compatible endpoint {Endpoint} (API key: {KeySource}; third party: {ThirdParty})")]
    public static partial void Serving(ILogger logger, string model, string endpoint, string keySource, bool thirdParty);
}
