using EdgeLlm.Tests;

namespace EdgeLlm.Fuzz.Tests;

/// <summary>
/// The fuzz targets over what the repository keeps for them (tests/EdgeLlm.Fuzz): every seed is accepted, so that
/// afl-fuzz starts from inputs that reach past the first check, and every input a fuzzer once found a fault with
/// is now accepted or refused by the parser's own error, within its allocation budget.
/// </summary>
public sealed class FuzzRegressionTests : IDisposable
{
    private static readonly string Folder = Repository.Combine("tests", "EdgeLlm.Fuzz");

    private readonly FuzzTargets _targets = new();

    public static TheoryData<string, string> Seeds => Inputs("corpus");

    public static TheoryData<string, string> Regressions => Inputs("regressions");

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Seed_IsAccepted(string target, string file) =>
        Assert.True(Target(target).Run(File.ReadAllBytes(Path.Combine(Folder, "corpus", target, file))), $"{target}: corpus/{target}/{file} is refused");

    [Theory]
    [MemberData(nameof(Regressions))]
    public void InputAFuzzerFoundAFaultWith_IsAnsweredByTheParser(string target, string file)
    {
        var fault = Record.Exception(() => Target(target).Run(File.ReadAllBytes(Path.Combine(Folder, "regressions", target, file))));

        Assert.Null(fault);
    }

    [Fact]
    public void EveryTarget_HasSeeds_AndEveryCorpusFolderATarget()
    {
        var folders = Directory.GetDirectories(Path.Combine(Folder, "corpus")).Select(Path.GetFileName).Order().ToList();

        Assert.Equal(_targets.All.Select(t => t.Name).Order(), folders);
        Assert.All(folders, f => Assert.NotEmpty(Directory.GetFiles(Path.Combine(Folder, "corpus", f!))));
        Assert.All(Directory.GetDirectories(Path.Combine(Folder, "regressions")), f => Assert.NotNull(_targets.Find(Path.GetFileName(f))));
    }

    [Fact]
    public void AParserThatTrustsAClaimedSize_IsAFinding_ThoughItReturns()
    {
        var trusting = new FuzzTarget("trusting", "a length prefix, believed", input => new byte[BitConverter.ToInt32(input)].Length >= 0);

        Assert.True(trusting.Run(BitConverter.GetBytes(1024)));
        Assert.Throws<UnboundedAllocationException>(() => trusting.Run(BitConverter.GetBytes(64 << 20)));
    }

    public void Dispose() => _targets.Dispose();

    private FuzzTarget Target(string name) => _targets.Find(name) ?? throw new InvalidOperationException($"no fuzz target {name}");

    private static TheoryData<string, string> Inputs(string kind)
    {
        var inputs = new TheoryData<string, string>();
        string root = Path.Combine(Folder, kind);
        foreach (string folder in Directory.GetDirectories(root).Order())
        {
            foreach (string file in Directory.GetFiles(folder).Order())
            {
                inputs.Add(Path.GetFileName(folder), Path.GetFileName(file));
            }
        }

        return inputs;
    }
}
