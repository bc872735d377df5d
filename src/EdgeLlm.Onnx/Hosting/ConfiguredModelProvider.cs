using System.Diagnostics;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Onnx.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Onnx.Hosting;

/// <summary>
/// Serves the model folder of Models:Local. It loads in the background from start, so the node is up (and
/// queueing) while the weights are read; a folder that is missing or will not load leaves the node without
/// a model, answering no-model, never a made-up answer.
/// </summary>
public sealed partial class ConfiguredModelProvider(IOptions<ModelsOptions> options, TimeProvider time, ILogger<ConfiguredModelProvider> logger)
    : IModelProvider, IHostedService, IDisposable
{
    private readonly TaskCompletionSource<LoadedModel?> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LocalModel? _model;
    private LocalChatClient? _client;

    /// <summary>The configured model while it loads and once it has loaded, under its folder's name.</summary>
    public IReadOnlyList<string> AvailableModelIds =>
        options.Value.Local.Length > 0 && (!_loaded.Task.IsCompleted || _loaded.Task.Result is not null) ? [LocalModel.IdOf(options.Value.Local)] : [];

    public IReadOnlyList<string> LoadedModelIds => _loaded.Task.IsCompletedSuccessfully && _loaded.Task.Result is LoadedModel model ? [model.Id] : [];

    public ValueTask<LoadedModel?> GetAsync(CancellationToken cancellationToken) => new(_loaded.Task.WaitAsync(cancellationToken));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        string folder = options.Value.Local;
        if (folder.Length == 0)
        {
            Log.NoModelConfigured(logger);
            _loaded.SetResult(null);
        }
        else
        {
            _ = Task.Run(() => Load(folder), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _client?.Dispose();
        _model?.Dispose();
    }

    private void Load(string folder)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            _model = LocalModel.Load(folder);
            _client = new LocalChatClient(_model, time);
            Log.Loaded(logger, _model.Id, folder, clock.ElapsedMilliseconds);
            _loaded.SetResult(new LoadedModel(_model.Id, _client));
        }
        catch (Exception e) when (e is ModelFileException or IOException or UnauthorizedAccessException)
        {
            Log.LoadFailed(logger, folder, e.Message);
            _loaded.SetResult(null);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Information, "Model {Model} loaded from {Folder} in {ElapsedMs} ms")]
        public static partial void Loaded(ILogger logger, string model, string folder, long elapsedMs);

        [LoggerMessage(2002, LogLevel.Error, "Model folder {Folder} could not be loaded, so requests are answered no-model: {Problem}")]
        public static partial void LoadFailed(ILogger logger, string folder, string problem);

        [LoggerMessage(2003, LogLevel.Warning, "No model is configured (Models:Local), so requests are answered no-model")]
        public static partial void NoModelConfigured(ILogger logger);
    }
}
