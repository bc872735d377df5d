namespace EdgeLlm.Core.Processing;

/// <summary>
/// A remote engine (an OpenAI-compatible server) could not be reached or refused the call: the request is
/// answered upstream-unavailable, not internal, since the fault is the server's, not this node's.
/// </summary>
public sealed class EngineUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
