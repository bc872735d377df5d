using System.Diagnostics;

namespace EdgeLlm.Core.Telemetry;

/// <summary>
/// The node's spans (docs/telemetry.md): an escalated request is one trace across the tiers. A request's span
/// ("edgellm.request") hangs under the W3C traceparent it came with, its work ("edgellm.generation",
/// "edgellm.relay") under it, and a relay sends its own context up in the MQTT user properties
/// <see cref="TraceParentProperty"/> and <see cref="TraceStateProperty"/>.
/// </summary>
public static class NodeTracing
{
    public const string SourceName = "EdgeLlm";

    /// <summary>The W3C Trace Context header, as an MQTT 5 user property of the same name.</summary>
    public const string TraceParentProperty = "traceparent";

    public const string TraceStateProperty = "tracestate";

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>
    /// Starts a span that ends elsewhere (a request's, ended with its final reply) without making it the
    /// current one of the caller, whose flow goes on to other requests.
    /// </summary>
    public static Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent)
    {
        var previous = Activity.Current;
        var span = Source.StartActivity(name, kind, parent);
        Activity.Current = previous;
        return span;
    }
}
