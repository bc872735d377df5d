using System.Text;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Tests.Catalog;

public sealed class CatalogReaderTests
{
    private const string Tokenizer = """
        , "tokenizer": { "url": "file:///models/tok512.bin", "sha256": "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312" }
        """;

    private static readonly string Stories = StoriesModel(Tokenizer);

    [Fact]
    public void Read_ShippedCatalog_DescribesStoriesRealModelsAnUpperTierAndAHostedEndpoint()
    {
        var catalog = CatalogReader.Read(ShippedCatalog());

        Assert.Equal(["stories260k-fp32", "stories260k-int8", "stories260k-int4"], catalog.Models.Where(m => m.Format == ModelFormats.Llama2c).Select(m => m.Id));
        Assert.All(catalog.Models.Where(m => m.Format == ModelFormats.Llama2c), m =>
        {
            Assert.Equal(0, m.Tier);
            Assert.Equal("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696", m.Sources[0].Sha256);
            Assert.Equal("037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312", m.Sources[0].Tokenizer?.Sha256);
            Assert.NotNull(m.RateOn("x64"));
        });
        Assert.All(catalog.Models.Where(m => m.Format == ModelFormats.Hf), m => Assert.Equal((0, "hf://"), (m.Tier, m.Sources[0].Url[..5])));
        Assert.Contains(catalog.Models, m => m.Tier == 1 && m.Format == ModelFormats.OpenAi && !m.ThirdParty);
        Assert.Contains(catalog.Models, m => m.Tier == 2 && m.ThirdParty && m.CostPer1kTokens > 0);
        Assert.Equal("medical", DomainClassifier.Classify("What dose for a child with a fever?", catalog));
    }

    [Fact]
    public void Parse_ModelOfOneFormat_ReadsEveryField()
    {
        var catalog = Parse($$"""{ "models": [ {{Stories}} ] }""");

        var model = Assert.Single(catalog.Models);
        Assert.Equal((260032L, 456070L, 50000000L, 1280L, 512), (model.Parameters, model.Bytes, model.RamBytes, model.KvBytesPerToken, model.ContextLength));
        Assert.Equal(new ModelRate(5306, 43357), model.Rates["x64"]);
        Assert.Equal("file:///models/tok512.bin", model.Sources[0].Tokenizer?.Url);
    }

    [Theory]
    [InlineData("{ \"models\": [ {", "catalog.json: not valid JSON")]
    [InlineData("[ ]", "catalog.json: expected an object with a \"models\" array")]
    [InlineData("""{ "models": [ { "tier": 0 } ] }""", "catalog.json: models[0]: \"id\" is required")]
    [InlineData("""{ "models": [ { "id": "a", "format": "gguf" } ] }""", "catalog.json: models[0] \"a\": \"format\" must be one of onnx-genai, llama2c, hf, openai")]
    [InlineData("""{ "models": [ { "id": "a", "format": "onnx-genai", "tier": 12 } ] }""", "models[0] \"a\": \"tier\" must be a whole number from 0 to 9")]
    [InlineData("""{ "models": [ { "id": "a", "format": "onnx-genai", "tier": 0, "parameters": 5, "bytes": 1, "ramBytes": -1 } ] }""", "models[0] \"a\": \"ramBytes\" must be a whole number at least 1")]
    [InlineData("""{ "models": [ { "id": "a", "format": "openai", "tier": 2, "contextLength": 100, "domains": { "general": 1.5 } } ] }""", "models[0] \"a\": \"domains.general\" must be a quality from 0 to 1")]
    [InlineData("""{ "models": [ { "id": "a", "format": "openai", "tier": 2, "contextLength": 100, "domains": { "general": 0.5 } } ] }""", "models[0] \"a\": \"endpoint\" must be the http(s) address")]
    [InlineData("""{ "models": [ { "id": "a", "format": "openai", "tier": 2, "contextLength": 100, "domains": { "general": 0.5 }, "endpoint": "http://x/v1", "rates": { "gpu": { "decodeTokensPerSecond": 0, "prefillTokensPerSecond": 1 } } } ] }""", "models[0] \"a\" rates.gpu: \"decodeTokensPerSecond\" must be a number")]
    [InlineData("""{ "models": [ { "id": "a", "format": "onnx-genai", "tier": 0, "parameters": 5, "bytes": 1, "ramBytes": 1, "contextLength": 8, "domains": { "general": 0.5 }, "sources": [ { "url": "ftp://x/a", "sha256": "00" } ] } ] }""", "models[0] \"a\" sources[0]: \"url\" must be an https, http or file URL")]
    [InlineData("""{ "models": [ { "id": "a", "format": "onnx-genai", "tier": 0, "parameters": 5, "bytes": 1, "ramBytes": 1, "contextLength": 8, "domains": { "general": 0.5 }, "sources": [ { "url": "https://x/a", "sha256": "ABC" } ] } ] }""", "models[0] \"a\" sources[0]: \"sha256\" must be 64 lowercase hex digits")]
    [InlineData("""{ "models": [], "domainKeywords": { "medical": "fever" } }""", "catalog.json: domainKeywords \"medical\" must be an array of non-empty strings")]
    public void Parse_CorruptCatalog_NamesTheEntryAndField(string json, string message)
    {
        var error = Assert.Throws<CatalogException>(() => Parse(json));

        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("""{ "models": "all of them" }""", "catalog.json: expected an object with a \"models\" array")]
    [InlineData("""{ "models": [ "a" ] }""", "catalog.json: models[0]: must be an object (a catalog entry)")]
    [InlineData("""{ "models": [ { "id": 7 } ] }""", "catalog.json: models[0]: \"id\" must be a string")]
    [InlineData("""{ "models": [ { "id": "a", "tier": "3" } ] }""", "catalog.json: models[0] \"a\": \"tier\" must be a whole number from 0 to 9")]
    [InlineData("""{ "models": [ { "id": "a", "thirdParty": "yes" } ] }""", "catalog.json: models[0] \"a\": \"thirdParty\" must be true or false")]
    [InlineData("""{ "models": [ { "id": "a", "domains": { "line.3": "high" } } ] }""", "catalog.json: models[0] \"a\": \"domains.line.3\" must be a quality from 0 to 1")]
    [InlineData("""{ "models": [ { "id": "a", "rates": { "pi5": { "decodeTokensPerSecond": "fast" } } } ] }""", "catalog.json: models[0] \"a\" rates.pi5: \"decodeTokensPerSecond\" must be a number above 0")]
    [InlineData("""{ "models": [ { "id": "a", "rates": { "pi5": 12 } } ] }""", "catalog.json: models[0] \"a\" rates.pi5: must be an object {\"decodeTokensPerSecond\", \"prefillTokensPerSecond\"[, \"estimated\"]}")]
    [InlineData("""{ "models": [ { "id": "a", "sources": [ { "url": 5 } ] } ] }""", "catalog.json: models[0] \"a\" sources[0]: \"url\" must be a string")]
    [InlineData("""{ "models": [ { "id": "a", "sources": [ { "url": "u", "tokenizer": { "url": [] } } ] } ] }""", "catalog.json: models[0] \"a\" sources[0] tokenizer: \"url\" must be a string")]
    [InlineData("""{ "models": [], "domainKeywords": [ "fever" ] }""", "catalog.json: \"domainKeywords\" must map domains to arrays of keywords")]
    public void Parse_AValueOfTheWrongKind_IsNamedAsItsCheckWouldNameIt(string json, string message)
    {
        Assert.Equal(message, Assert.Throws<CatalogException>(() => Parse(json)).Message);
    }

    [Fact]
    public void Parse_Llama2cWithoutTokenizer_IsRefused()
    {
        var error = Assert.Throws<CatalogException>(() => Parse($$"""{ "models": [ {{StoriesModel(tokenizer: "")}} ] }"""));

        Assert.Contains("\"stories260k-int8\": \"sources\" of a llama2c model must each name a \"tokenizer\" source", error.Message);
    }

    [Fact]
    public void Parse_SameIdTwice_IsRefused()
    {
        var error = Assert.Throws<CatalogException>(() => Parse($$"""{ "models": [ {{Stories}}, {{Stories}} ] }"""));

        Assert.Contains("models[1] \"stories260k-int8\": the id is used twice", error.Message);
    }

    [Fact]
    public void Read_ShippedCatalog_IsPlainJson_AndServesStoriesFirstFromTheCopyBesideIt()
    {
        string path = ShippedCatalog();
        using var plain = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));

        var catalog = CatalogReader.Read(path);

        Assert.All(catalog.Models.Where(m => m.Format == ModelFormats.Llama2c), m =>
        {
            var shipped = m.Sources[0];
            Assert.StartsWith("file://", shipped.Url);
            Assert.True(File.Exists(new Uri(shipped.Url).LocalPath), shipped.Url);
            Assert.True(File.Exists(new Uri(shipped.Tokenizer!.Url).LocalPath), shipped.Tokenizer.Url);
            Assert.StartsWith("https://huggingface.co/", m.Sources[1].Url);
            Assert.Equal(["genai_config.json", "model.onnx"], m.Contents.Keys.Order(StringComparer.Ordinal));
        });
    }

    [Fact]
    public void Read_ARelativeSourceUrl_IsTheFileBesideTheCatalog()
    {
        string folder = Directory.CreateTempSubdirectory("edgellm-catalog-").FullName;
        try
        {
            string path = Path.Combine(folder, "catalog.json");
            File.WriteAllText(path, $$"""{ "models": [ {{StoriesModel(Tokenizer).Replace("https://example.org/stories260K.bin", "weights/stories260K.bin", StringComparison.Ordinal)}} ] }""");

            var source = Assert.Single(CatalogReader.Read(path).Models).Sources[0];

            Assert.Equal(new Uri(Path.Combine(folder, "weights", "stories260K.bin")).AbsoluteUri, source.Url);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("weights/stories260K.bin", "sources[0]: \"url\" 'weights/stories260K.bin' is relative, but this catalog has no folder to resolve it against")]
    [InlineData("ftp://host/stories260K.bin", "sources[0]: \"url\" must be an https, http or file URL, or a path relative to the catalog")]
    public void Parse_ASourceUrlThatCannotBeFetched_IsRefused(string url, string message)
    {
        var error = Assert.Throws<CatalogException>(() => Parse($$"""{ "models": [ {{StoriesModel(Tokenizer).Replace("https://example.org/stories260K.bin", url, StringComparison.Ordinal)}} ] }"""));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Parse_Comments_AreRefusedWithAHint()
    {
        var error = Assert.Throws<CatalogException>(() => Parse($$"""
            { // the fleet's models
              "models": [ {{Stories}} ] }
            """));

        Assert.Contains("catalog.json: not valid JSON", error.Message);
        Assert.Contains("comments are not JSON: put notes in a \"notes\" field", error.Message);
    }

    [Theory]
    [InlineData("""{ "genai_config.json": "abc" }""", "\"contents.genai_config.json\" must be 64 lowercase hex digits")]
    [InlineData("""{ "../model.onnx": "1cb55503efdb8103881a5b85018ed5fa10264c56a463db7d9e226f6ae8f92591" }""", "\"contents.../model.onnx\" must name a file of the model folder (no path)")]
    [InlineData("""[ "model.onnx" ]""", "\"contents\" must map file names to their sha256")]
    public void Parse_BadContents_NamesTheField(string contents, string message)
    {
        var error = Assert.Throws<CatalogException>(() => Parse($$"""{ "models": [ {{Stories.Replace("\"bytes\": 456070,", $"\"bytes\": 456070, \"contents\": {contents},", StringComparison.Ordinal)}} ] }"""));

        Assert.Contains($"models[0] \"stories260k-int8\": {message}", error.Message);
    }

    [Fact]
    public void ReadDescription_AFoldersOwnDescription_IsAGenAiModelOfThatFolder()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """{ "domains": { "industrial": 0.6 }, "subdomains": { "conveyors": 0.7 }, "ramBytes": 90000000, "notes": "fine-tuned on our manuals" }""");

            var model = CatalogReader.ReadDescription(file, "line-assistant", tier: 0);

            Assert.Equal(("line-assistant", ModelFormats.OnnxGenAi, 90_000_000L), (model.Id, model.Format, model.RamBytes));
            Assert.Equal(0.7, model.QualityFor("industrial", "conveyors"));
            Assert.Null(model.QualityFor("stories", null));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("""{ "subdomains": {} }""", "\"domains\" is required")]
    [InlineData("""{ "domains": { "industrial": 2 } }""", "\"domains.industrial\" must be a quality from 0 to 1")]
    [InlineData("""[]""", "expected an object describing the model")]
    public void ReadDescription_ABadOne_NamesTheFileAndField(string json, string message)
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, json);

            var error = Assert.Throws<CatalogException>(() => CatalogReader.ReadDescription(file, "x", tier: 0));

            Assert.StartsWith(file, error.Message);
            Assert.Contains(message, error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Read_MissingFile_NamesIt()
    {
        var error = Assert.Throws<CatalogException>(() => CatalogReader.Read("/nonexistent/catalog.json"));

        Assert.StartsWith("/nonexistent/catalog.json:", error.Message);
    }

    private static string StoriesModel(string tokenizer) => $$"""
        { "id": "stories260k-int8", "tier": 0, "format": "llama2c", "parameters": 260032, "quantization": "int8", "bytes": 456070,
          "ramBytes": 50000000, "kvBytesPerToken": 1280, "contextLength": 512, "domains": { "stories": 0.3 },
          "rates": { "x64": { "decodeTokensPerSecond": 5306, "prefillTokensPerSecond": 43357 } },
          "sources": [ { "url": "https://example.org/stories260K.bin", "sha256": "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696" {{tokenizer}} } ] }
        """;

    private static ModelCatalog Parse(string json) => CatalogReader.Parse(Encoding.UTF8.GetBytes(json), "catalog.json");

    private static string ShippedCatalog()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "models", "catalog.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("models/catalog.json not found above the test folder");
    }
}
