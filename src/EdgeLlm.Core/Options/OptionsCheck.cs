using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>
/// Collects what is wrong with a section's values, each failure naming its configuration key (e.g.
/// "Admission:QueueCapacity must be from 1 to 1024"), so that a bad value stops the start with a message a
/// person can act on. (The options source generator's range messages name the C# member instead.)
/// </summary>
public sealed class OptionsCheck(string section)
{
    private readonly List<string> _failures = [];

    public OptionsCheck Range(string key, int value, int minimum, int maximum)
    {
        if (value < minimum || value > maximum)
        {
            _failures.Add(string.Create(CultureInfo.InvariantCulture, $"{section}:{key} must be from {minimum} to {maximum}, not {value}"));
        }

        return this;
    }

    public OptionsCheck Matches(string key, string value, Regex pattern, string rule)
    {
        if (!pattern.IsMatch(value))
        {
            _failures.Add($"{section}:{key} must be {rule}, not '{value}'");
        }

        return this;
    }

    public OptionsCheck FileExists(string key, string path)
    {
        if (path.Length > 0 && !File.Exists(path))
        {
            _failures.Add($"{section}:{key}: no such file '{path}'");
        }

        return this;
    }

    /// <summary>Fails with <paramref name="failure"/> (which names its keys) unless <paramref name="condition"/> holds.</summary>
    public OptionsCheck That(bool condition, string failure)
    {
        if (!condition)
        {
            _failures.Add(failure);
        }

        return this;
    }

    public ValidateOptionsResult Result() => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);
}
