using EdgeLlm.Core.Catalog;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Hosting;
using EdgeLlm.Onnx.Inspection;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Hosting;

/// <summary>What a model folder given by hand is taken for, against the shipped catalog.</summary>
public sealed class FolderDescriberTests(Stories260kModels models) : IClassFixture<Stories260kModels>, IDisposable
{
    private static readonly ModelCatalog Shipped = CatalogReader.Read(Repository.Combine("models", "catalog.json"));

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(Quantization.Fp32)]
    [InlineData(Quantization.Int8)]
    [InlineData(Quantization.Int4)]
    public void Describe_EachShippedStoriesBuildUnderAnotherName_IsKnownByItsContents(Quantization quantization)
    {
        string folder = _temp.CopyFolder(models.Folder(quantization), "my-model");

        var description = FolderDescriber.Describe(folder, Shipped, tier: 0, byContents: true);

        Assert.Equal(Shipped.Find($"stories260k-{quantization.ToName()}"), description.Model);
        Assert.Contains("genai_config.json and weights are those of", description.Basis);
    }

    [Fact]
    public void Describe_AFolderNamedByACatalogId_IsThatEntry_WithoutLookingInside()
    {
        string folder = _temp.Combine("stories260k-int8");
        Directory.CreateDirectory(folder);

        Assert.Equal(Shipped.Find("stories260k-int8"), FolderDescriber.Describe(folder, Shipped, tier: 0, byContents: true).Model);
    }

    [Fact]
    public void Describe_AnotherModelByAnotherName_IsAGeneralModel_NotTheCatalogsLookalike()
    {
        // stories260K fp32 with one weight changed: its genai_config.json matches the catalog's, its weights do not.
        string folder = _temp.CopyFolder(models.Folder(Quantization.Fp32), "fp32");
        string weights = Path.Combine(folder, "model.onnx");
        byte[] bytes = File.ReadAllBytes(weights);
        bytes[^16] ^= 0x40;
        File.WriteAllBytes(weights, bytes);

        var description = FolderDescriber.Describe(folder, Shipped, tier: 0, byContents: true);

        Assert.Equal(("fp32", 0.0), (description.Model.Id, description.Model.QualityFor("general", null)));
        Assert.Null(description.Model.QualityFor("stories", null));
    }

    [Fact]
    public void Describe_ByNameOnly_DoesNotHashTheWeights()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int4), "copied-by-hand");

        Assert.Equal("copied-by-hand", FolderDescriber.Describe(folder, Shipped, tier: 0, byContents: false).Model.Id);
    }

    [Fact]
    public void Describe_AFolderWithItsOwnDescription_IsWhatItSays_EvenWhenItsFilesMatchTheCatalog()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int4), "bedtime");
        File.WriteAllText(Path.Combine(folder, CatalogReader.DescriptionFile), """{ "domains": { "stories": 0.45 }, "rates": { "x64": { "decodeTokensPerSecond": 4000, "prefillTokensPerSecond": 30000 } } }""");

        var description = FolderDescriber.Describe(folder, Shipped, tier: 1, byContents: true);

        Assert.Equal(("bedtime", 1, 0.45), (description.Model.Id, description.Model.Tier, description.Model.QualityFor("stories", null)));
        Assert.Equal(4000, description.Model.RateOn("x64")!.DecodeTokensPerSecond);
    }

    [Fact]
    public void Describe_ADescriptionThatCannotBeRead_CountsAsGeneral_AndSaysWhy()
    {
        string folder = _temp.CopyFolder(models.Folder(Quantization.Int4), "broken");
        File.WriteAllText(Path.Combine(folder, CatalogReader.DescriptionFile), """{ "domains": { "stories": "high" } }""");

        var description = FolderDescriber.Describe(folder, Shipped, tier: 0, byContents: true);

        Assert.Equal("broken", description.Model.Id);
        Assert.Contains("\"domains.stories\" must be a quality from 0 to 1", description.Basis);
    }

    [Fact]
    public void ShippedCatalog_ContentsOfEachStoriesEntry_AreWhatTheBuilderMakesOfTheShippedCheckpoint()
    {
        // A builder change that alters the bytes it writes must update the catalog, or folders given by hand go unrecognised.
        foreach (var entry in Shipped.Models.Where(m => m.Format == ModelFormats.Llama2c))
        {
            Assert.True(QuantizationNames.TryParse(entry.Quantization, out var quantization));
            Assert.Equal(entry.Contents, ModelContents.Hashes(models.Folder(quantization)));
        }
    }
}
