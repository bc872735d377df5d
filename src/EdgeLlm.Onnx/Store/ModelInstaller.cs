using System.Formats.Tar;
using System.IO.Compression;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Onnx.Engine;
using EdgeLlm.Onnx.HuggingFace;

namespace EdgeLlm.Onnx.Store;

/// <summary>
/// Turns verified downloads into a model folder at {root}/{id}: a llama2c checkpoint, or the files of a
/// Hugging Face repository (format hf), is converted to the catalog's quantization; an onnx-genai source (a
/// .zip or .tar.gz of the folder, or the folder's files from a hub repository) is unpacked or put in place.
/// Either is written under a hidden name beside the destination and renamed into place whole.
/// </summary>
internal sealed class ModelInstaller(string root)
{
    private const string StagingMarker = ".partial-";

    /// <summary>A hidden folder beside the models for work under way; the model builder uses the same naming.</summary>
    public static string StagingPath(string root, string id) => Path.Combine(root, $".{id}{StagingMarker}{Guid.NewGuid():N}");

    /// <summary>Folders an install or removal left when the process stopped midway.</summary>
    public static IEnumerable<string> Leftovers(string root) =>
        Directory.EnumerateDirectories(root, $".*{StagingMarker}*");

    /// <summary>The installed folder; ModelFileException when the files do not make a model.</summary>
    public string Install(CatalogModel model, string file, string? tokenizer, CancellationToken cancellationToken)
    {
        string destination = Path.Combine(root, model.Id);
        if (model.Format == ModelFormats.Llama2c)
        {
            var quantization = QuantizationOf(model, file);
            using var checkpoint = Llama2cCheckpoint.Open(file);
            var vocabulary = Llama2cVocabulary.Read(tokenizer ?? throw new ModelFileException(file, "a llama2c model needs its tokenizer"), checkpoint.Shape.VocabSize);
            ModelFolderBuilder.Build(checkpoint, vocabulary, quantization, destination, force: false, cancellationToken);
            return destination;
        }

        string staging = StagingPath(root, model.Id);
        try
        {
            Unpack(file, staging);
            // An archive of the folder itself, or of a folder holding it.
            string folder = File.Exists(Path.Combine(staging, GenAiConfig.FileName)) ? staging
                : Directory.GetDirectories(staging) is [string only] && File.Exists(Path.Combine(only, GenAiConfig.FileName)) ? only
                : throw new ModelFileException(file, $"holds no {GenAiConfig.FileName}: not a model folder in the ONNX Runtime GenAI layout");
            Directory.Move(folder, destination);
            return destination;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// The installed folder from a hub repository's files (each repository path with its verified download),
    /// with <paramref name="receipt"/> in it; ModelFileException when the files do not make a model.
    /// </summary>
    public string InstallFiles(CatalogModel model, IReadOnlyDictionary<string, string> files, SourceReceipt receipt, CancellationToken cancellationToken)
    {
        string destination = Path.Combine(root, model.Id);
        string staging = StagingPath(root, model.Id);
        try
        {
            Directory.CreateDirectory(staging);
            foreach (var (path, download) in files)
            {
                string target = Path.Combine(staging, path);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                // The converter only reads them; a folder that is the model takes them over.
                if (model.Format == ModelFormats.Hf)
                {
                    File.CreateSymbolicLink(target, download);
                }
                else
                {
                    File.Move(download, target);
                }
            }

            if (model.Format == ModelFormats.Hf)
            {
                var quantization = QuantizationOf(model, staging);
                using (var checkpoint = HfCheckpoint.Open(staging))
                {
                    ModelFolderBuilder.Build(checkpoint, HfTokenizer.Open(staging, checkpoint.Config), quantization, destination, force: false, cancellationToken);
                }

                receipt.Write(destination);
                return destination;
            }

            if (!File.Exists(Path.Combine(staging, GenAiConfig.FileName)))
            {
                throw new ModelFileException(receipt.Source, $"lists no {GenAiConfig.FileName}: not a model folder in the ONNX Runtime GenAI layout");
            }

            receipt.Write(staging);
            Directory.Move(staging, destination);
            return destination;
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static Quantization QuantizationOf(CatalogModel model, string source) =>
        QuantizationNames.TryParse(model.Quantization.Length == 0 ? "fp32" : model.Quantization, out var quantization)
            ? quantization
            : throw new ModelFileException(source, $"the catalog asks for quantization '{model.Quantization}'; fp32, int8 and int4 can be built");

    // Zip or gzip-compressed tar, told apart by their first bytes; both refuse entries outside the folder.
    private static void Unpack(string file, string staging)
    {
        Directory.CreateDirectory(staging);
        using var stream = File.OpenRead(file);
        Span<byte> magic = stackalloc byte[2];
        int read = stream.Read(magic);
        stream.Position = 0;
        try
        {
            if (read == 2 && magic[0] == 'P' && magic[1] == 'K')
            {
                ZipFile.ExtractToDirectory(stream, staging);
            }
            else if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                using var gzip = new GZipStream(stream, CompressionMode.Decompress);
                TarFile.ExtractToDirectory(gzip, staging, overwriteFiles: false);
            }
            else
            {
                throw new ModelFileException(file, "is neither a .zip nor a .tar.gz of a model folder");
            }
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new ModelFileException(file, $"could not be unpacked ({e.Message})");
        }
    }
}
