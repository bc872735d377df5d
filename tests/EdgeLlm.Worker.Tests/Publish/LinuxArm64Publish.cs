using EdgeLlm.Tests;

namespace EdgeLlm.Worker.Tests.Publish;

/// <summary>edgellm published once per test class as a Raspberry Pi gets it: publish-profiles/linux-arm64.pubxml.</summary>
public sealed class LinuxArm64Publish : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _directory = new();
    private string? _folder;

    public string Folder => _folder ?? throw new InvalidOperationException("not published yet");

    public string Executable => Path.Combine(Folder, "edgellm");

    public async Task InitializeAsync() => _folder = await PublishedEdgeLlm.PublishAsync("linux-arm64", _directory);

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _directory.Dispose();
}
