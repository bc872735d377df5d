using EdgeLlm.Tests;

namespace EdgeLlm.Fuzz;

/// <summary>
/// Where the file parsers' inputs are written, one folder per target: they read files and folders, as a pulled
/// model gives them. Deleted when the fuzzing process ends.
/// </summary>
internal sealed class ScratchFiles : IDisposable
{
    private readonly TempDirectory _root = new();

    /// <summary>The target's folder, made if it is not there.</summary>
    public string Folder(string target) => Directory.CreateDirectory(_root.Combine(target)).FullName;

    /// <summary>An empty folder for what a target writes, emptied of the last run's files.</summary>
    public string EmptyFolder(string target)
    {
        string folder = _root.Combine(target + ".out");
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        return Directory.CreateDirectory(folder).FullName;
    }

    /// <summary>Writes <paramref name="content"/> as <paramref name="file"/> in the target's folder; returns its path.</summary>
    public string Write(string target, string file, byte[] content)
    {
        string path = Path.Combine(Folder(target), file);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose() => _root.Dispose();
}
