using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;

namespace EdgeLlm.Mqtt.Outgoing;

/// <summary>
/// The route of a request whose reply must not be published (it asked for it on a control topic): the
/// pipeline counts and logs its refusal as for any other, and nothing goes on the wire.
/// </summary>
internal sealed class UnsentReplyTarget(string topic) : IReplyTarget
{
    public string Key { get; } = $"unsent\n{topic}";

    public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public Task<bool> SendChunkAsync(Chunk chunk) => Task.FromResult(false);
}
