using Microsoft.Extensions.Logging;

namespace EdgeLlm.Onnx;

/// <summary>Every log message of EdgeLlm.Onnx, with its event id (20xx the node's models, 22xx the store): one table, so that no id is used twice.</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "Model {Model} loaded from {Folder} in {ElapsedMs} ms")]
    public static partial void Loaded(ILogger logger, string model, string folder, long elapsedMs);

    [LoggerMessage(2002, LogLevel.Error, "Model {Model} could not be loaded from {Folder}, so requests for it are answered no-model: {Problem}")]
    public static partial void LoadFailed(ILogger logger, string model, string folder, string problem);

    [LoggerMessage(2003, LogLevel.Warning, "No model is configured (Models:Local) and there is no model store, so requests are answered no-model or escalated")]
    public static partial void NoModelConfigured(ILogger logger);

    [LoggerMessage(2004, LogLevel.Information, "Model {Model} unloaded ({Why})")]
    public static partial void Unloaded(ILogger logger, string model, string why);

    [LoggerMessage(2005, LogLevel.Error, "The model store at {StorePath} cannot be used, so no model is pulled: {Problem}")]
    public static partial void StoreUnavailable(ILogger logger, string storePath, string problem);

    [LoggerMessage(2006, LogLevel.Warning, "The model store at {StorePath} could not be read: {Problem}")]
    public static partial void StoreUnreadable(ILogger logger, string storePath, string problem);

    [LoggerMessage(2007, LogLevel.Error, "Pinned model {Model} is neither in the catalog nor on this board")]
    public static partial void PinnedUnknown(ILogger logger, string model);

    [LoggerMessage(2008, LogLevel.Error, "Pinned model {Model} is unavailable: {Problem}")]
    public static partial void PinnedUnavailable(ILogger logger, string model, string problem);

    [LoggerMessage(2009, LogLevel.Warning, "Background pull of {Model} failed; requests needing it are escalated meanwhile: {Problem}")]
    public static partial void BackgroundPullFailed(ILogger logger, string model, string problem);

    [LoggerMessage(2010, LogLevel.Information, "Models:Local {Folder} is served as {Model}: {Basis}")]
    public static partial void LocalDescribed(ILogger logger, string folder, string model, string basis);

    [LoggerMessage(2201, LogLevel.Information, "Pulling {Model} from {Url}")]
    public static partial void Fetching(ILogger logger, string model, string url);

    [LoggerMessage(2202, LogLevel.Information, "Pulling {Model}: {Bytes} of {TotalBytes} bytes")]
    public static partial void Progress(ILogger logger, string model, long bytes, long totalBytes);

    [LoggerMessage(2203, LogLevel.Information, "Model {Model} installed from {Url}: {Bytes} bytes, converted in {ElapsedMs} ms")]
    public static partial void Installed(ILogger logger, string model, string url, long bytes, long elapsedMs);

    [LoggerMessage(2204, LogLevel.Warning, "Model {Model}: source {Url} failed: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string model, string url, string reason);

    [LoggerMessage(2205, LogLevel.Information, "Model {Model} ({Bytes} bytes) evicted to make room for {For}")]
    public static partial void Evicted(ILogger logger, string model, long bytes, string @for);

    [LoggerMessage(2206, LogLevel.Warning, "Removed {Folder}, left by an install that did not finish")]
    public static partial void LeftoverRemoved(ILogger logger, string folder);
}
