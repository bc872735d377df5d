namespace EdgeLlm.Core.Processing;

/// <summary>Thrown by an engine whose model cannot take the prompt: it fills the model's context. Answered too-large.</summary>
public sealed class PromptTooLongException(string message) : Exception(message);
