using System.ComponentModel.DataAnnotations;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Security;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>
/// Configuration section "Dashboard": the live fleet page (docs/telemetry.md). Read-only unless operators
/// and a certificate are both given: the model commands need an operator's basic authentication, and that
/// only over TLS.
/// </summary>
internal sealed class DashboardOptions : IValidatableObject
{
    public const string Section = "Dashboard";

    /// <summary>The page's port; 0 serves none (on a node). `edgellm dashboard` serves 8080 unless told.</summary>
    [Between(0, 65535)]
    public int Port { get; set; }

    /// <summary>The address the page listens on: every interface by default, so that a phone on the site's network reads it.</summary>
    [IpAddress]
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>The page's TLS certificate: PEM (its key in KeyFile, or in the same file) or PKCS#12 (.pfx, .p12).</summary>
    [ExistingFile]
    public string CertificateFile { get; set; } = "";

    /// <summary>The PEM private key of CertificateFile, when it is a file of its own.</summary>
    [ExistingFile]
    public string KeyFile { get; set; } = "";

    /// <summary>Who may send model commands from the page: lines "name:hash" written by `edgellm passwd name`.</summary>
    [ExistingFile]
    public string OperatorsFile { get; set; } = "";

    /// <summary>
    /// The MQTT client id of `edgellm dashboard` (default edgellm-dashboard-HOSTNAME: two with one id would
    /// push each other off the broker), which the nodes' Mqtt:Commands:AllowedClients (or the broker's ACL)
    /// must allow for commands.
    /// </summary>
    [Matches("^[A-Za-z0-9._-]{1,64}$", "up to 64 letters, digits, '.', '_' or '-'")]
    public string ClientId { get; set; } = $"edgellm-dashboard-{Environment.MachineName}";

    /// <summary>How long the page waits for a node's reply to a command (a pull takes as long as its download).</summary>
    [Between(1, 3600)]
    public int CommandTimeoutSeconds { get; set; } = 600;

    public bool Enabled => Port > 0;

    /// <summary>Commands are taken only from operators, authenticated over TLS.</summary>
    public bool CommandsAllowed => OperatorsFile.Length > 0 && CertificateFile.Length > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OperatorsFile.Length > 0 && CertificateFile.Length == 0)
        {
            yield return new ValidationResult("Dashboard:OperatorsFile needs Dashboard:CertificateFile: operators' passwords go over TLS only");
        }

        if (KeyFile.Length > 0 && CertificateFile.Length == 0)
        {
            yield return new ValidationResult("Dashboard:KeyFile needs Dashboard:CertificateFile");
        }

        if (OperatorsFile.Length > 0 && File.Exists(OperatorsFile) && PasswordFile.Problem(OperatorsFile) is string problem)
        {
            yield return new ValidationResult($"Dashboard:OperatorsFile: {problem}");
        }
    }
}

[OptionsValidator]
internal sealed partial class DashboardOptionsValidator : IValidateOptions<DashboardOptions>
{
    /// <summary>This validator, its failures named by their configuration keys.</summary>
    public static IValidateOptions<DashboardOptions> Keyed { get; } = new KeyedValidator<DashboardOptions>(DashboardOptions.Section, new DashboardOptionsValidator());
}
