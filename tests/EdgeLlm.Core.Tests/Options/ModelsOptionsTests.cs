using EdgeLlm.Core.Options;

namespace EdgeLlm.Core.Tests.Options;

public sealed class ModelsOptionsTests
{
    [Theory]
    [InlineData("/var/lib/edgellm", "/home/pi/.data", "/home/pi", "/var/lib/edgellm/models")]
    [InlineData("/var/lib/edgellm:/var/lib/other", null, "/home/pi", "/var/lib/edgellm/models")]
    [InlineData(null, "/home/pi/.data", "/home/pi", "/home/pi/.data/edgellm/models")]
    [InlineData(null, "relative/data", "/home/pi", "/home/pi/.local/share/edgellm/models")]
    [InlineData(null, null, "/home/pi", "/home/pi/.local/share/edgellm/models")]
    [InlineData(null, null, null, "/var/lib/edgellm/models")]
    public void DefaultStorePath_TheServiceStateDirectory_ElseTheUsersDataDirectory(string? stateDirectory, string? dataHome, string? home, string expected)
    {
        var environment = new Dictionary<string, string?> { ["STATE_DIRECTORY"] = stateDirectory, ["XDG_DATA_HOME"] = dataHome, ["HOME"] = home };

        Assert.Equal(expected, ModelsOptions.DefaultStorePath(name => environment.GetValueOrDefault(name)));
    }
}
