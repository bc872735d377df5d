using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EdgeLlm.Core.Security;

/// <summary>
/// Passwords as salted PBKDF2-SHA256 hashes, "pbkdf2-sha256$iterations$salt$hash" (base64), in a file of
/// "name:hash" lines (`edgellm passwd name` writes one; '#' starts a comment): the fleet page's operators
/// (Dashboard:OperatorsFile) and the embedded broker's users (Mqtt:Embedded:UsersFile). Nothing stores or
/// logs a password itself.
/// </summary>
public sealed class PasswordFile
{
    private const string Scheme = "pbkdf2-sha256";

    /// <summary>OWASP's advice for PBKDF2-SHA256 (2023); a check takes ~0.3 s on a Pi 4, once per command.</summary>
    private const int Iterations = 600_000;

    // What an unknown name is checked against, so that it takes as long as a known one.
    private static readonly Lazy<string> Unknown = new(() => Hash(""));

    private readonly Dictionary<string, string> _hashes;

    private PasswordFile(Dictionary<string, string> hashes) => _hashes = hashes;

    public int Count => _hashes.Count;

    /// <exception cref="PasswordFileException">A line is not "name:hash".</exception>
    public static PasswordFile Read(string path)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !line[(colon + 1)..].StartsWith(Scheme + "$", StringComparison.Ordinal))
            {
                throw new PasswordFileException($"{path} line {number} is not \"name:{Scheme}$…\" (write one with 'edgellm passwd NAME')");
            }

            hashes[line[..colon]] = line[(colon + 1)..];
        }

        return new PasswordFile(hashes);
    }

    /// <summary>What is wrong with the file at <paramref name="path"/> for use, in words; null when nothing is.</summary>
    public static string? Problem(string path)
    {
        try
        {
            return Read(path).Count == 0 ? "it names no one (add a line with 'edgellm passwd NAME')" : null;
        }
        catch (Exception e) when (e is PasswordFileException or IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    public static string Hash(string password, int iterations = Iterations)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Whether <paramref name="name"/> is an operator whose password this is; an unknown name costs the same time.</summary>
    public bool Verify(string name, string password)
    {
        bool known = _hashes.TryGetValue(name, out string? stored);
        return Matches(stored ?? Unknown.Value, password) && known;
    }

    private static bool Matches(string stored, string password)
    {
        string[] parts = stored.Split('$');
        if (parts.Length != 4 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int iterations) || iterations is < 1 or > 10_000_000)
        {
            return false;
        }

        try
        {
            byte[] salt = Convert.FromBase64String(parts[2]);
            byte[] expected = Convert.FromBase64String(parts[3]);
            byte[] actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>A password file has a line that is not "name:hash".</summary>
public sealed class PasswordFileException(string message) : Exception(message);
