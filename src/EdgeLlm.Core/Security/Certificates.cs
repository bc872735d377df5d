using System.Security.Cryptography.X509Certificates;

namespace EdgeLlm.Core.Security;

/// <summary>Certificates from the files configuration names: PKCS#12 (.pfx, .p12, without a password) or PEM.</summary>
public static class Certificates
{
    /// <param name="keyPath">A PEM certificate's private key, when it is in a file of its own; empty or null when it is in the same file (or there is none).</param>
    public static X509Certificate2 Load(string path, string? keyPath = null) =>
        Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12"
            ? X509CertificateLoader.LoadPkcs12FromFile(path, password: null)
            : X509Certificate2.CreateFromPemFile(path, string.IsNullOrEmpty(keyPath) ? null : keyPath);
}
