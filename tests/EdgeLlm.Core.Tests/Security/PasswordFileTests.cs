using EdgeLlm.Core.Security;

namespace EdgeLlm.Core.Tests.Security;

public sealed class PasswordFileTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("edgellm-passwords-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public void Verify_TakesTheRightPasswordOnly_ForTheRightName()
    {
        var operators = Write($"# who may command the fleet\nana:{PasswordFile.Hash("tulip 7", iterations: 1000)}\n\nbob:{PasswordFile.Hash("oak", iterations: 1000)}\n");

        Assert.Equal(2, operators.Count);
        Assert.True(operators.Verify("ana", "tulip 7"));
        Assert.True(operators.Verify("bob", "oak"));
        Assert.False(operators.Verify("ana", "oak"));
        Assert.False(operators.Verify("ana", "tulip 7 "));
        Assert.False(operators.Verify("carl", "tulip 7"));
    }

    [Fact]
    public void Hash_IsSaltedAndKeepsNoPassword()
    {
        string first = PasswordFile.Hash("tulip 7", iterations: 1000);
        string second = PasswordFile.Hash("tulip 7", iterations: 1000);

        Assert.NotEqual(first, second);
        Assert.StartsWith("pbkdf2-sha256$1000$", first, StringComparison.Ordinal);
        Assert.DoesNotContain("tulip", first, StringComparison.Ordinal);
        Assert.StartsWith("pbkdf2-sha256$600000$", PasswordFile.Hash("x"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ana")]
    [InlineData("ana:tulip")]
    [InlineData(":pbkdf2-sha256$1000$AA==$AA==")]
    public void Read_ALineThatIsNotNameAndHash_NamesTheLine(string line)
    {
        string path = Path.Combine(_temp.FullName, "operators");
        File.WriteAllText(path, $"# operators\n{line}\n");

        var e = Assert.Throws<PasswordFileException>(() => PasswordFile.Read(path));

        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ADamagedHash_RefusesAndDoesNotThrow()
    {
        var operators = Write("ana:pbkdf2-sha256$1000$not base64$AA==\nbob:pbkdf2-sha256$0$AA==$AA==\n");

        Assert.False(operators.Verify("ana", ""));
        Assert.False(operators.Verify("bob", ""));
    }

    private PasswordFile Write(string text)
    {
        string path = Path.Combine(_temp.FullName, $"operators-{Guid.NewGuid():N}");
        File.WriteAllText(path, text);
        return PasswordFile.Read(path);
    }
}
