using System.Reflection.PortableExecutable;
using EdgeLlm.Tests;
using EdgeLlm.Worker.Tests.Node;

namespace EdgeLlm.Worker.Tests.Publish;

/// <summary>
/// The linux-arm64 publish (self-contained, trimmed) run as on a Raspberry Pi 4, under qemu: the command line,
/// the model builder, generation and the MQTT node, each checked against this machine's x64 build.
/// </summary>
public sealed class EmulatedArm64Tests(LinuxArm64Publish published, NodeModels models) : IClassFixture<LinuxArm64Publish>, IClassFixture<NodeModels>
{
    private const string Prompt = "Once upon a time";
    private const int Tokens = 20;
    private const ushort Aarch64Machine = 183;

    // Emulated, a JIT-compiled .NET program starts some seconds slower than natively.
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void Publish_HoldsOnlyLinuxArm64NativeLibraries()
    {
        string[] files = Directory.GetFiles(published.Folder, "*", SearchOption.AllDirectories);

        Assert.Contains(published.Executable, files);
        Assert.False(Directory.Exists(Path.Combine(published.Folder, "runtimes")), "the publish has a runtimes/ folder of other platforms' libraries");
        Assert.All(files.Where(IsElf), file => Assert.True(ElfMachine(file) == Aarch64Machine, $"{file} is not an arm64 ELF file"));
        Assert.All(files.Where(f => f.EndsWith(".dll", StringComparison.Ordinal)), file => Assert.True(IsManaged(file), $"{file} is a native Windows library"));
        Assert.DoesNotContain(files, f => f.EndsWith(".dylib", StringComparison.Ordinal));
    }

    [EmulatedArm64Fact]
    public async Task Version_Emulated_IsTheBuildsVersion()
    {
        var run = await EmulatedArm64.RunAsync(published.Executable, ["--version"], CommandTimeout);

        Assert.Equal((0, EdgeLlmCli.Version + "\n"), (run.ExitCode, run.Output));
    }

    [EmulatedArm64Fact]
    public async Task ModelBuildAndGenerate_Emulated_MatchTheX64Build()
    {
        using var work = new TempDirectory();
        string folder = work.Combine("stories260k-int8");

        var build = await EmulatedArm64.RunAsync(published.Executable,
            ["model", "build", "--from-llama2c", StoriesFiles.Checkpoint, "--tokenizer", StoriesFiles.Tokenizer, "--quant", "int8", "--out", folder], CommandTimeout);
        Assert.True(build.ExitCode == 0, build.Error);
        foreach (string x64File in Directory.GetFiles(models.Stories))
        {
            string name = Path.GetFileName(x64File);
            Assert.True(File.ReadAllBytes(x64File).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(folder, name))), $"{name} built under emulation differs from the x64 build's");
        }

        var generate = await EmulatedArm64.RunAsync(published.Executable, ["generate", "--model", folder, "--prompt", Prompt, "--max-new-tokens", $"{Tokens}"], CommandTimeout);

        Assert.Equal((0, models.StoriesContinuation(Prompt, Tokens) + "\n"), (generate.ExitCode, generate.Output));
    }

    [EmulatedArm64Fact]
    public async Task Serve_Emulated_AnswersAnMqttRequest()
    {
        int port = FreePort.Next();
        await using var node = NodeProcess.Start(
            [$"Mqtt:EmbeddedPort={port}", $"Models:Local={models.Stories}", $"Admission:DefaultMaxTokens={Tokens}"],
            command: [.. EmulatedArm64.Prefix, published.Executable]);
        await node.WaitUntilListeningAsync(CommandTimeout);
        await using var requester = await TestRequester.ConnectAsync($"127.0.0.1:{port}");

        var reply = await requester.AskAsync("edgellm/ask/emulated", Prompt, CommandTimeout);

        Assert.Equal(models.StoriesContinuation(Prompt, Tokens), reply.Text);
        node.Terminate();
        Assert.Equal(0, await node.WaitForExitAsync(CommandTimeout));
    }

    private static bool IsElf(string file)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(file);
        return stream.Read(magic) == 4 && magic.SequenceEqual("\u007fELF"u8);
    }

    // e_machine: the 16-bit little-endian field at offset 18 of an ELF header.
    private static ushort ElfMachine(string file)
    {
        using var reader = new BinaryReader(File.OpenRead(file));
        reader.BaseStream.Position = 18;
        return reader.ReadUInt16();
    }

    private static bool IsManaged(string file)
    {
        using var pe = new PEReader(File.OpenRead(file));
        return pe.HasMetadata;
    }
}
