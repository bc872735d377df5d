using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Onnx.Building;
using EdgeLlm.Onnx.Checkpoints;
using EdgeLlm.Tests;

namespace EdgeLlm.Onnx.Tests.Hosting;

/// <summary>The shipped catalog's Hugging Face models: what it says of them is what their shapes compute.</summary>
public sealed class ShippedCatalogTests
{
    private static readonly ModelCatalog Shipped = CatalogReader.Read(Repository.Combine("models", "catalog.json"));

    public static TheoryData<string> HubModels() => [.. Shipped.Models.Where(m => m.Format == ModelFormats.Hf).Select(m => m.Id)];

    [Fact]
    public void ShippedCatalog_ListsTheRealModels_AtInt4AndInt8()
    {
        string[] expected = ["smollm2-135m", "smollm2-360m", "smollm2-1.7b", "qwen2.5-0.5b", "qwen2.5-1.5b", "llama3.2-1b", "phi3.5-mini"];

        var listed = Shipped.Models.Where(m => m.Format == ModelFormats.Hf).Select(m => m.Id).ToHashSet();

        Assert.Equal(expected.SelectMany(name => new[] { $"{name}-instruct-int4", $"{name}-instruct-int8" }).Order(), listed.Order());
    }

    [Theory]
    [MemberData(nameof(HubModels))]
    public void HubModel_SizesAreWhatItsShapeComputes(string id)
    {
        var model = Shipped.Find(id)!;
        Assert.True(QuantizationNames.TryParse(model.Quantization, out var quantization));
        var shape = SyntheticWeights.ShapeOf(id[..id.IndexOf("-instruct", StringComparison.Ordinal)])!;

        Assert.Equal(shape.ParameterCount, model.Parameters);
        Assert.Equal(WeightBytes.Stored(shape, quantization), model.Bytes);
        // The weights read per token (ONNX Runtime's prepacked copy is about their size), a fifth more, and the runtime.
        Assert.Equal((long)(1.2 * WeightBytes.ReadPerToken(shape, quantization)) + 200_000_000, model.RamBytes);
        Assert.Equal(2L * shape.Layers * shape.KvDim * sizeof(float), model.KvBytesPerToken);
        Assert.Equal(shape.ContextLength, model.ContextLength);
    }

    [Theory]
    [MemberData(nameof(HubModels))]
    public void HubModel_IsPulledFromTheHub_WithEstimatedRatesForEachBoardClass(string id)
    {
        var model = Shipped.Find(id)!;

        var hub = Assert.Single(model.Sources).Hub!;
        Assert.Contains("config.json", hub.Files);
        Assert.Contains(hub.Files, f => f.EndsWith(".safetensors", StringComparison.Ordinal));
        Assert.Equal(["pi4", "pi5", "x64"], model.Rates.Keys.Order());
        Assert.All(model.Rates.Values, rate => Assert.True(rate.Estimated));
        // A bigger model is slower on the same board: the estimate follows the bytes read per token.
        Assert.True(model.Rates["pi4"].DecodeTokensPerSecond < model.Rates["pi5"].DecodeTokensPerSecond);
    }

    // The ladder the recommender climbs: the smallest model that meets the quality asked for and fits the
    // board's memory, pulled on demand; past what the board can hold (and with no upstream here) the best one
    // that fits answers, degraded.
    [Theory]
    [InlineData("Raspberry Pi 4 Model B Rev 1.4", 2048, 1700, 0.45, "qwen2.5-0.5b-instruct-int4", false)]
    [InlineData("Raspberry Pi 4 Model B Rev 1.4", 2048, 1700, 0.55, "qwen2.5-1.5b-instruct-int4", false)]
    [InlineData("Raspberry Pi 4 Model B Rev 1.4", 2048, 1700, 0.65, "qwen2.5-1.5b-instruct-int4", true)]
    [InlineData("Raspberry Pi 5 Model B Rev 1.0", 8192, 7000, 0.65, "phi3.5-mini-instruct-int4", false)]
    [InlineData("Raspberry Pi 5 Model B Rev 1.0", 8192, 7000, 0.68, "phi3.5-mini-instruct-int8", false)]
    public void Recommend_OnABoard_PicksTheSmallestRealModelThatMeetsTheQualityAndFits(string board, long totalMb, long availableMb, double minQuality, string expected, bool degraded)
    {
        const long MiB = 1L << 20;
        var snapshot = new ResourceSnapshot
        {
            Board = board,
            Memory = new MemoryState(totalMb * MiB, availableMb * MiB),
            Cpu = new CpuState(4, 0.1, 0.1, 0.1, 5, 45),
            Thermal = new ThermalState { Zones = [new ThermalZone("thermal_zone0", "cpu-thermal", 45)] },
            Power = new PowerState { Supplies = [new PowerSupply("AC", "Mains", true, null, null)] },
        };
        var pullable = Shipped.Models.Where(m => m.Tier == 0 && m.CanBePulled).ToDictionary(m => m.Id, _ => 60_000.0);
        var request = new Request { Prompt = "What does alarm E42 on line 3 mean?", Domain = "general", MinQuality = minQuality, MaxTokens = 128, Format = RequestFormat.Envelope };
        var node = new NodeRouting(0, BoardClasses.Of("", board), MemoryReserveBytes: 128 * MiB, ThermalLimitCelsius: 80, MinBatteryPercent: 10, DefaultMaxTokens: 128);

        var decision = Recommender.Recommend(new RoutingInput(request, snapshot, Shipped, node, [], [], 0, 16, [], pullable));

        Assert.Equal((RouteOutcome.Local, expected, expected, degraded), (decision.Outcome, decision.Model, decision.Acquire, decision.Degraded));
    }
}
