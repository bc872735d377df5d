using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Core.Options;

/// <summary>
/// Runs an options class's source-generated <c>[OptionsValidator]</c> and names each failure by the
/// configuration key a person edits ("Admission:QueueCapacity", "Gpio:Buttons:0:Pin") rather than by the C#
/// path the generator gives ("AdmissionOptions.QueueCapacity", "GpioOptions.Buttons[0].Pin"). The one
/// wrapper for every section; the attributes below write the rest of each message.
/// </summary>
public sealed class KeyedValidator<TOptions>(string section, IValidateOptions<TOptions> generated) : IValidateOptions<TOptions>
    where TOptions : class
{
    private static readonly string TypeName = typeof(TOptions).Name;

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var result = generated.Validate(name, options);
        return result.Failed ? ValidateOptionsResult.Fail(result.Failures.Select(Keyed)) : result;
    }

    // "AdmissionOptions.Buttons[0].Pin must be …" → "Gpio:Buttons:0:Pin must be …"; a message that names its keys itself stays.
    private string Keyed(string failure)
    {
        if (!failure.StartsWith(TypeName, StringComparison.Ordinal) || failure.Length == TypeName.Length || failure[TypeName.Length] is not ('.' or '['))
        {
            return failure;
        }

        int end = TypeName.Length;
        while (end < failure.Length && (char.IsAsciiLetterOrDigit(failure[end]) || failure[end] is '.' or '[' or ']'))
        {
            end++;
        }

        string path = failure[TypeName.Length..end].Replace("]", "", StringComparison.Ordinal).Replace('[', ':').Replace('.', ':');
        return $"{section}{path}{failure[end..]}";
    }
}

public static class KeyedValidationExtensions
{
    /// <summary>Checks the section at start with <paramref name="validator"/> (a <see cref="KeyedValidator{TOptions}"/>): a bad value stops the start naming its key.</summary>
    public static OptionsBuilder<TOptions> ValidatedBy<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(this OptionsBuilder<TOptions> builder, IValidateOptions<TOptions> validator)
        where TOptions : class
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton(validator));
        return builder.ValidateOnStart();
    }
}

/// <summary>
/// A validation attribute whose message is "{key}{problem}": the generator passes the value's path as the
/// display name, which <see cref="KeyedValidator{TOptions}"/> turns into its configuration key.
/// </summary>
public abstract class KeyedValidationAttribute : ValidationAttribute
{
    protected sealed override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        Problem(value) is string problem ? new ValidationResult($"{validationContext.DisplayName}{problem}") : ValidationResult.Success;

    /// <summary>What is wrong, from its first character (" must be …", ": no such file …"); null when nothing is.</summary>
    protected abstract string? Problem(object? value);

    protected static string Show(object value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}

/// <summary>A number from <paramref name="minimum"/> to <paramref name="maximum"/> (null counts as absent).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class BetweenAttribute(double minimum, double maximum) : KeyedValidationAttribute
{
    /// <summary>The minimum itself is too small ("above 0").</summary>
    public bool ExclusiveMinimum { get; init; }

    /// <summary>What the value must be, when not "from {minimum} to {maximum}" (e.g. "a GPIO line number").</summary>
    public string? Rule { get; init; }

    /// <summary>Whether the message shows the wrong value.</summary>
    public bool ShowValue { get; init; } = true;

    protected override string? Problem(object? value)
    {
        if (value is null)
        {
            return null;
        }

        double number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        if ((ExclusiveMinimum ? number > minimum : number >= minimum) && number <= maximum)
        {
            return null;
        }

        string rule = Rule ?? (ExclusiveMinimum ? $"above {Show(minimum)} and at most {Show(maximum)}" : $"from {Show(minimum)} to {Show(maximum)}");
        return ShowValue ? $" must be {rule}, not {Show(value)}" : $" must be {rule}";
    }
}

/// <summary>One of a few words.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOfAttribute(params string[] allowed) : KeyedValidationAttribute
{
    /// <summary>How the message lists them, when not "one of a, b, c".</summary>
    public string? Rule { get; init; }

    protected override string? Problem(object? value) =>
        value is string word && !allowed.Contains(word, StringComparer.Ordinal) ? $" must be {Rule ?? $"one of {string.Join(", ", allowed)}"}, not '{word}'" : null;
}

/// <summary>Text that matches a pattern (empty text too, unless the pattern refuses it).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MatchesAttribute([StringSyntax(StringSyntaxAttribute.Regex)] string pattern, string rule) : KeyedValidationAttribute
{
    private readonly Regex _pattern = new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    protected override string? Problem(object? value) =>
        value is string text && !_pattern.IsMatch(text) ? $" must be {rule}, not '{text}'" : null;
}

/// <summary>Text that is not blank; for a list, no item blank.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotBlankAttribute(string rule) : KeyedValidationAttribute
{
    protected override string? Problem(object? value) => value switch
    {
        string text when string.IsNullOrWhiteSpace(text) => $" must be {rule}",
        IEnumerable<string> items when items.Any(string.IsNullOrWhiteSpace) => $" must {rule}",
        _ => null,
    };
}

/// <summary>A file that exists, when one is named.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ExistingFileAttribute : KeyedValidationAttribute
{
    protected override string? Problem(object? value) => value is string { Length: > 0 } path && !File.Exists(path) ? $": no such file '{path}'" : null;
}

/// <summary>A folder that exists.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ExistingFolderAttribute : KeyedValidationAttribute
{
    protected override string? Problem(object? value) => value is string path && !Directory.Exists(path) ? $": no such folder '{path}'" : null;
}

/// <summary>An absolute path.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AbsolutePathAttribute : KeyedValidationAttribute
{
    protected override string? Problem(object? value) =>
        value is string path && !(path.Length > 0 && Path.IsPathFullyQualified(path)) ? $" must be an absolute path, not '{path}'" : null;
}

/// <summary>An http or https address, when one is given.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HttpAddressAttribute : KeyedValidationAttribute
{
    protected override string? Problem(object? value) =>
        value is string { Length: > 0 } address && !(Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") ? $" must be an http(s) address, not '{address}'" : null;
}

/// <summary>An IP address (v4 or v6).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IpAddressAttribute : KeyedValidationAttribute
{
    protected override string? Problem(object? value) => value is string address && !IPAddress.TryParse(address, out _) ? $" must be an IP address, not '{address}'" : null;
}
