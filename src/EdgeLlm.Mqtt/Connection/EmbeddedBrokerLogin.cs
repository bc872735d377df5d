using System.Security.Cryptography;

namespace EdgeLlm.Mqtt.Connection;

/// <summary>
/// The node's own login to its embedded broker when that takes known users only (Mqtt:Embedded:UsersFile):
/// made afresh at each start and known to this process alone, so that the node needs no entry of its own
/// in the users file.
/// </summary>
internal sealed record EmbeddedBrokerLogin(string User, string Password)
{
    public static EmbeddedBrokerLogin Create() => new($"edgellm-node-{Guid.NewGuid():N}", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
}
