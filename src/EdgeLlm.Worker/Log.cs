using Microsoft.Extensions.Logging;

namespace EdgeLlm.Worker;

/// <summary>Every log message of EdgeLlm.Worker, with its event id (51xx the OpenAI-compatible engine, 52xx the fleet page): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(5101, LogLevel.Information, "Serving {Model} from the OpenAI-compatible endpoint {Endpoint} (API key: {KeySource}; third party: {ThirdParty})")]
    public static partial void Serving(ILogger logger, string model, string endpoint, string keySource, bool thirdParty);

    [LoggerMessage(5201, LogLevel.Information, "The fleet page is served at {Address} ({Mode})")]
    public static partial void PageServed(ILogger logger, string address, string mode);

    [LoggerMessage(5202, LogLevel.Information, "Operator {Operator} sent {Command} {Model} to {Node} from the fleet page")]
    public static partial void PageCommand(ILogger logger, string @operator, string command, string model, string node);

    [LoggerMessage(5203, LogLevel.Warning, "The fleet page refused operator {Operator}: wrong name or password")]
    public static partial void OperatorRefused(ILogger logger, string @operator);
}
