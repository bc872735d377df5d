namespace EdgeLlm.Onnx;

/// <summary>A checkpoint, tokenizer or model folder that cannot be read or written, with the path and the problem named.</summary>
public sealed class ModelFileException : Exception
{
    public ModelFileException(string path, string problem)
        : base($"{path}: {problem}")
    {
        FilePath = path;
        Problem = problem;
    }

    public ModelFileException(string path, string problem, Exception inner)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    public string FilePath { get; }

    public string Problem { get; }
}
