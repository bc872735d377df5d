using System.Text.Json;
using EdgeLlm.Core.Catalog;

namespace EdgeLlm.Core.Routing;

/// <summary>Reads status advertisements as nodes publish them on {prefix}/node/+/status (see NodeStatusFormatter).</summary>
public static class AdvertisementReader
{
    /// <exception cref="FormatException">The JSON is not an advertisement; the message says which field is wrong.</exception>
    public static UpstreamAdvertisement Read(JsonElement status)
    {
        if (status.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("an advertisement must be a JSON object");
        }

        string node = status.TryGetProperty("node", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : throw new FormatException("\"node\" is missing");
        int tier = status.TryGetProperty("tier", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out int value) ? value : throw new FormatException($"advertisement of {node}: \"tier\" is missing");
        bool online = status.TryGetProperty("online", out var o) && o.ValueKind == JsonValueKind.True;
        int queue = status.TryGetProperty("queueDepth", out var q) && q.ValueKind == JsonValueKind.Number && q.TryGetInt32(out int depth) ? depth : 0;
        double? roundTrip = status.TryGetProperty("roundTripMs", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDouble() : null;
        var models = new List<CatalogModel>();
        if (status.TryGetProperty("models", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var model in list.EnumerateArray())
            {
                if (model.ValueKind is not (JsonValueKind.String or JsonValueKind.Object))
                {
                    throw new FormatException($"advertisement of {node}: a model is neither an id nor an object");
                }

                models.Add(model.ValueKind == JsonValueKind.String
                    ? new CatalogModel { Id = model.GetString()!, Tier = tier, Format = ModelFormats.OnnxGenAi }
                    : new CatalogModel
                    {
                        Id = model.TryGetProperty("id", out var modelId) && modelId.ValueKind == JsonValueKind.String ? modelId.GetString()! : throw new FormatException($"advertisement of {node}: a model has no \"id\""),
                        Tier = tier,
                        Format = ModelFormats.OnnxGenAi,
                        Domains = Qualities(model, "domains"),
                        Subdomains = Qualities(model, "subdomains"),
                        ThirdParty = model.TryGetProperty("thirdParty", out var third) && third.ValueKind == JsonValueKind.True,
                    });
            }
        }

        return new UpstreamAdvertisement(node, tier, online, models, queue, roundTrip);
    }

    // A name given twice keeps its last value, as JSON readers commonly do.
    private static Dictionary<string, double> Qualities(JsonElement model, string name)
    {
        var qualities = new Dictionary<string, double>(StringComparer.Ordinal);
        if (model.TryGetProperty(name, out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var quality in map.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number))
            {
                qualities[quality.Name] = quality.Value.GetDouble();
            }
        }

        return qualities;
    }
}
