using Microsoft.Extensions.Logging;

namespace EdgeLlm.Core;

/// <summary>Every log message of EdgeLlm.Core, with its event id (10xx requests, 11xx the node's services): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Request {RequestId} answered by {Model}: {Tokens} tokens in {LatencyMs} ms")]
    public static partial void Answered(ILogger logger, string requestId, string model, int tokens, long latencyMs);

    [LoggerMessage(1002, LogLevel.Warning, "Request {RequestId} failed: {Code}: {Message}")]
    public static partial void Failed(ILogger logger, string requestId, string code, string message);

    [LoggerMessage(1003, LogLevel.Information, "Request {RequestId} repeated within the duplicate window: not answered again")]
    public static partial void Duplicate(ILogger logger, string requestId);

    [LoggerMessage(1004, LogLevel.Error, "Request {RequestId} failed in the model")]
    public static partial void RunFailed(ILogger logger, Exception exception, string requestId);

    // A rejection has no model nor tier ("-"); a model without measured rates has no latency prediction ("unknown").
    [LoggerMessage(1005, LogLevel.Information, "Request {RequestId} routed {Decision} to {Model} (tier {Tier}) for domain {Domain} ({Reasons}); predicted latency {PredictedLatency}")]
    public static partial void Routed(ILogger logger, string requestId, string decision, string model, string tier, string domain, string reasons, string predictedLatency);

    [LoggerMessage(1006, LogLevel.Information, "Request {RequestId}: the upstream's {Kind} relayed")]
    public static partial void Relayed(ILogger logger, string requestId, string kind);

    [LoggerMessage(1007, LogLevel.Warning, "Request {RequestId}: {Silence}; falling back ({Policy})")]
    public static partial void UpstreamSilent(ILogger logger, string requestId, string silence, string policy);

    [LoggerMessage(1008, LogLevel.Error, "Request {RequestId} could not be escalated")]
    public static partial void EscalationFailed(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(1009, LogLevel.Warning, "Request {RequestId}: {Model} is unavailable ({Problem}); routed again: {Decision} to {Chosen}")]
    public static partial void Rerouted(ILogger logger, string requestId, string model, string problem, string decision, string chosen);

    [LoggerMessage(1010, LogLevel.Information, "Cancel for request {RequestId}: {Count} held under that id")]
    public static partial void CancelReceived(ILogger logger, string requestId, int count);

    [LoggerMessage(1011, LogLevel.Information, "Request {RequestId} stopped: {Why}")]
    public static partial void Cancelled(ILogger logger, string requestId, string why);

    [LoggerMessage(1101, LogLevel.Critical, "{Service} failed, so the node stops")]
    public static partial void ServiceFailed(ILogger logger, Exception exception, string service);
}
