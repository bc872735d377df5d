using System.Collections.Concurrent;

namespace EdgeLlm.Mqtt.Fleet;

/// <summary>A node as the fleet's retained status advertisements and wills show it.</summary>
/// <param name="Online">False once its will (or its own offline status) came.</param>
/// <param name="LastSeen">When its last status arrived here; for a node gone offline, its last one while online.</param>
/// <param name="Status">Its last advertisement (docs/design.md §4), JSON on one line; its will when nothing came before.</param>
public sealed record FleetNode(string Id, bool Online, DateTimeOffset LastSeen, ReadOnlyMemory<byte> Status);

/// <summary>Every node heard of on {prefix}/node/+/status, for the fleet page; told when one changes.</summary>
public sealed class FleetState
{
    private readonly ConcurrentDictionary<string, FleetNode> _nodes = new(StringComparer.Ordinal);

    /// <summary>A node's status arrived, or the node was retired (null: its retained status was cleared).</summary>
    public event Action<string, FleetNode?>? Changed;

    public IReadOnlyList<FleetNode> Nodes => [.. _nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal)];

    public FleetNode? Find(string id) => _nodes.GetValueOrDefault(id);

    internal void Update(FleetNode node)
    {
        _nodes[node.Id] = node;
        Changed?.Invoke(node.Id, node);
    }

    internal void Remove(string id)
    {
        if (_nodes.TryRemove(id, out _))
        {
            Changed?.Invoke(id, null);
        }
    }
}
