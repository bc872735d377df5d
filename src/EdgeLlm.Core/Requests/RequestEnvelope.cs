using System.Text.Json;

namespace EdgeLlm.Core.Requests;

/// <summary>A request written back as a JSON envelope (docs/design.md §3), as a node sends it up a tier.</summary>
public static class RequestEnvelope
{
    public static byte[] Write(Request request) => JsonPayload.Write(json =>
    {
        json.WriteStartObject();
        WriteIfSet(json, "id", request.Id);
        json.WriteString("prompt", request.Prompt);
        WriteIfSet(json, "system", request.System);
        WriteIfSet(json, "domain", request.Domain);
        WriteIfSet(json, "subdomain", request.Subdomain);
        WriteIfSet(json, "maxTokens", request.MaxTokens);
        WriteIfSet(json, "temperature", request.Temperature);
        WriteIfSet(json, "maxLatencyMs", request.MaxLatencyMs);
        WriteIfSet(json, "minQuality", request.MinQuality);
        WriteIfSet(json, "maxCost", request.MaxCost);
        json.WriteString("privacy", request.Privacy switch { Privacy.Fleet => "fleet", Privacy.Local => "local", _ => "any" });
        json.WriteEndObject();
    });

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double number)
        {
            json.WriteNumber(name, number);
        }
    }
}
