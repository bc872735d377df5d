namespace EdgeLlm.Onnx.Tests;

public sealed class LocalModelsOptionsTests
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

        Assert.Equal(expected, LocalModelsOptions.DefaultStorePath(name => environment.GetValueOrDefault(name)));
    }

    [Fact]
    public void Store_EveryBadValueIsNamedByItsKey()
    {
        var options = new LocalModelsOptions { StorePath = "models", DiskBudgetMb = -1, IdleUnloadMinutes = 20_000, Pinned = ["stories260k-int4", " "] };

        var result = LocalModelsOptionsValidator.Keyed.Validate(null, options);

        Assert.Equal(
            [
                "Models:StorePath must be an absolute path, not 'models'",
                "Models:DiskBudgetMb must be from 0 to 2147483647, not -1",
                "Models:IdleUnloadMinutes must be from 0 to 10080, not 20000",
                "Models:Pinned must list model ids, not empty strings",
            ],
            result.Failures);
    }

    [Fact]
    public void Store_TheDefaultsAreValid() =>
        Assert.True(LocalModelsOptionsValidator.Keyed.Validate(null, new LocalModelsOptions()).Succeeded);
}
