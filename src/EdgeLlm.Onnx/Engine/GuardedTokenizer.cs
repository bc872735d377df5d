using Microsoft.ML.OnnxRuntimeGenAI;

namespace EdgeLlm.Onnx.Engine;

/// <summary>
/// GenAI's <see cref="Tokenizer"/>, made safe to fail: when the native tokenizer cannot be created (a
/// tokenizer.json it cannot read), the half-made object's finalizer frees a dangling handle and crashes the
/// process (seen with GenAI 0.18.0). Here only a tokenizer that was created is ever freed.
/// </summary>
internal sealed class GuardedTokenizer : Tokenizer
{
    private readonly bool _created;

    public GuardedTokenizer(Model model)
        : base(model)
    {
        _created = true;
    }

    protected override void Dispose(bool disposing)
    {
        if (_created)
        {
            base.Dispose(disposing);
        }
    }
}
