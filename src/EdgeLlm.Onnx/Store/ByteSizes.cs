namespace EdgeLlm.Onnx.Store;

/// <summary>Sizes of model folders on disk, and how they are shown to people.</summary>
public static class ByteSizes
{
    /// <summary>Bytes of every file under <paramref name="folder"/>; 0 when it does not exist.</summary>
    public static long OfFolder(string folder) =>
        Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;

    /// <summary>E.g. "0.4 MB".</summary>
    public static string Megabytes(long bytes) => $"{bytes / 1048576.0:F1} MB";
}
