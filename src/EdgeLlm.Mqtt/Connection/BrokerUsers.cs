using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using EdgeLlm.Core.Security;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// Who the embedded broker takes when it has a users file: those users with their passwords, the node
/// itself (its login of this start), and, when allowed, clients that give no user name. A password once
/// verified is remembered as its SHA-256, so that a fleet reconnecting after a restart costs one PBKDF2
/// check a user, not one a connection.
/// </summary>
internal sealed class BrokerUsers(PasswordFile users, EmbeddedBrokerLogin? node)
{
    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);

    public bool Admits(string? user, string? password, bool allowAnonymous)
    {
        if (string.IsNullOrEmpty(user))
        {
            return allowAnonymous;
        }

        password ??= "";
        if (node is not null && user == node.User)
        {
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(node.Password));
        }

        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        if (_verified.TryGetValue(user, out byte[]? known) && CryptographicOperations.FixedTimeEquals(known, digest))
        {
            return true;
        }

        if (!users.Verify(user, password))
        {
            return false;
        }

        _verified[user] = digest;
        return true;
    }
}
