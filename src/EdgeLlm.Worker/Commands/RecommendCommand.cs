using System.Buffers;
using System.CommandLine;
using System.Text;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Resources;
using EdgeLlm.Core.Routing;
using EdgeLlm.Device;
using EdgeLlm.Device.Sampling;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Commands;

/// <summary>
/// `edgellm recommend`: the recommender's decision for a request, as the configured node would decide it
/// (its tier, catalog and limits), counting every catalog model of its tier as local. Exit 1 on a reject.
/// </summary>
internal static class RecommendCommand
{
    public static Command Create()
    {
        var request = new Option<string>("--request") { Description = "The request: a JSON envelope (or plain text), as an MQTT payload", Required = true, HelpName = "JSON" };
        var snapshot = new Option<FileInfo>("--snapshot") { Description = "A snapshot as `edgellm status` prints it (default: read the board now)", HelpName = "FILE" };
        var catalog = new Option<FileInfo>("--catalog") { Description = "The catalog (default: Models:CatalogPath, /etc/edgellm/catalog.json, or the one beside the executable)", HelpName = "FILE" };
        var upstreams = new Option<FileInfo>("--upstreams") { Description = "A JSON array of status advertisements as published on edgellm/node/+/status; those reachable through Upstream:Tier (default: the next tier up) count", HelpName = "FILE" };
        var command = new Command("recommend", "Print the recommender's decision for a request, and its reasons, as JSON") { request, snapshot, catalog, upstreams };
        command.SetAction(parse =>
        {
            var configuration = NodeConfiguration.Build([], NodeConfiguration.Directory);
            var parsed = RequestParser.Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(parse.GetRequiredValue(request))), CommandConfiguration.Admission(configuration).MaxPromptBytes);
            if (parsed.Request is not Request routed)
            {
                throw new UsageException($"--request: {parsed.Failure!.Message}");
            }

            var board = parse.GetValue(snapshot) is FileInfo file ? ReadSnapshot(file) : SampleBoard(configuration);
            var node = NodeRouting(configuration, board.Board);
            var decision = Recommender.Recommend(new RoutingInput(
                routed,
                board,
                CommandConfiguration.ReadCatalog(parse.GetValue(catalog), configuration),
                node,
                LocalModels: null,
                LoadedModels: [],
                QueueDepth: 0,
                QueueCapacity: CommandConfiguration.Admission(configuration).QueueCapacity,
                parse.GetValue(upstreams) is FileInfo list ? Reachable(ReadUpstreams(list), configuration, node.Tier) : []));
            parse.InvocationConfiguration.Output.WriteLine(Encoding.UTF8.GetString(Write(decision)));
            return decision.Outcome == RouteOutcome.Reject ? EdgeLlmCli.Failure : EdgeLlmCli.Success;
        });
        return command;
    }

    public static byte[] Write(Decision decision) => JsonPayload.Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("decision", decision.OutcomeName);
        json.WriteString("domain", decision.Domain);
        json.WriteString("model", decision.Model);
        if (decision.Tier is int tier)
        {
            json.WriteNumber("tier", tier);
        }
        else
        {
            json.WriteNull("tier");
        }

        json.WriteStartArray("reasons");
        foreach (string reason in decision.Reasons)
        {
            json.WriteStringValue(reason);
        }

        json.WriteEndArray();
        json.WriteStartObject("predicted");
        ReplyFormatter.WriteNumberOrNull(json, "latencyMs", decision.Predicted.LatencyMs);
        ReplyFormatter.WriteNumberOrNull(json, "quality", decision.Predicted.Quality);
        ReplyFormatter.WriteNumberOrNull(json, "cost", decision.Predicted.Cost);
        json.WriteEndObject();
        json.WriteBoolean("degraded", decision.Degraded);
        json.WriteString("error", decision.RejectCode?.ToWireName());
        json.WriteEndObject();
    });

    // The advertised nodes the configured node would reach through its upstream tier.
    private static IReadOnlyList<UpstreamAdvertisement> Reachable(IReadOnlyList<UpstreamAdvertisement> advertised, IConfiguration configuration, int tier)
    {
        var directory = new UpstreamDirectory();
        foreach (var advertisement in advertised)
        {
            directory.Update(advertisement);
        }

        string self = CommandConfiguration.Node(configuration).Id;
        return directory.Reachable(self, tier, CommandConfiguration.Upstream(configuration).Tier ?? tier + 1);
    }

    private static NodeRouting NodeRouting(IConfiguration configuration, string? board)
    {
        var routing = CommandConfiguration.Routing(configuration);
        return new NodeRouting(
            CommandConfiguration.Node(configuration).Tier,
            BoardClasses.Of(routing.BoardClass, board),
            (long)CommandConfiguration.Models(configuration).MemoryReserveMb << 20,
            routing.ThermalLimitCelsius,
            routing.MinBatteryPercent,
            CommandConfiguration.Admission(configuration).DefaultMaxTokens);
    }

    private static ResourceSnapshot ReadSnapshot(FileInfo file)
    {
        try
        {
            return ResourceSnapshotJson.Deserialize(File.ReadAllBytes(file.FullName));
        }
        catch (JsonException e)
        {
            throw new IOException($"{file.FullName}: not a snapshot as `edgellm status` prints it ({e.Message})", e);
        }
    }

    private static ResourceSnapshot SampleBoard(IConfiguration configuration)
    {
        using var services = new ServiceCollection().AddEdgeDevice(configuration).BuildServiceProvider();
        return services.GetRequiredService<ResourceSampler>().Sample();
    }

    private static IReadOnlyList<UpstreamAdvertisement> ReadUpstreams(FileInfo file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file.FullName));
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("expected a JSON array of status advertisements");
            }

            return [.. document.RootElement.EnumerateArray().Select(AdvertisementReader.Read)];
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new IOException($"{file.FullName}: {e.Message}", e);
        }
    }
}
