using System.CommandLine;
using System.Globalization;
using EdgeLlm.Core.Catalog;
using EdgeLlm.Core.Options;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Resources;
using EdgeLlm.Onnx.Store;
using EdgeLlm.Worker.Hosting;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Worker.Commands;

/// <summary>What `edgellm model list --json` prints for each model.</summary>
/// <param name="Bytes">On disk when present, else the catalog's size.</param>
/// <param name="Source">Where a model pulled from the hub came from: the repository, the commit, each file's sha256.</param>
internal sealed record ModelListEntry(string Id, int? Tier, string Format, string Quantization, long Bytes, bool InCatalog, bool Present, bool Pinned, bool Loaded, SourceReceipt? Source);

/// <summary>What `edgellm model pull` and `model pin` print.</summary>
internal sealed record StoredModelOutput(string Id, string Folder, long Bytes, bool Pinned);

/// <summary>
/// `edgellm model list | pull | rm | pin | unpin`: the model store of Models:StorePath, shared with a running
/// node (the store's state is its folder, so the node sees the change within its housekeeping interval).
/// </summary>
internal static class StoreCommand
{
    public static IEnumerable<Command> Create() => [List(), Pull(), Remove(), Pin(), Unpin()];

    private static Option<DirectoryInfo> StoreOption() => new("--store") { Description = "The model store (default: Models:StorePath)", HelpName = "DIR" };

    private static Option<FileInfo> CatalogOption() => new("--catalog") { Description = "The catalog (default: Models:CatalogPath, /etc/edgellm/catalog.json, or the one beside the executable)", HelpName = "FILE" };

    private static Argument<string> IdArgument() => new("ID") { Description = "A model id of the catalog" };

    private static Command List()
    {
        var store = StoreOption();
        var catalog = CatalogOption();
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table" };
        var command = new Command("list", "List the catalog's models and those on this board: present, pinned, loaded, sizes") { store, catalog, json };
        command.SetAction(parse =>
        {
            using var session = Session.Open(parse, store, catalog);
            var present = session.Store.List().ToDictionary(m => m.Id, StringComparer.Ordinal);
            var loaded = session.Store.LoadedByRunningNode();
            var entries = session.Catalog.Models.Where(m => m.Format != ModelFormats.OpenAi)
                .Select(m => Entry(m.Id, m, present.GetValueOrDefault(m.Id), session.Store, loaded))
                .Concat(present.Values.Where(m => session.Catalog.Find(m.Id) is null).Select(m => Entry(m.Id, null, m, session.Store, loaded)))
                .ToList();
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                CliJson.Write(output, entries);
                return EdgeLlmCli.Success;
            }

            output.WriteLine($"{"ID",-28} {"TIER",4} {"FORMAT",-11} {"QUANT",-5} {"SIZE",10} {"PRESENT",-7} {"PINNED",-6} {"LOADED",-6} SOURCE");
            foreach (var entry in entries)
            {
                string source = entry.Source is { } receipt ? $"{receipt.Source} at {receipt.Commit}" : "";
                output.WriteLine($"{entry.Id,-28} {entry.Tier?.ToString(CultureInfo.InvariantCulture) ?? "-",4} {entry.Format,-11} {entry.Quantization,-5} {ByteSizes.Megabytes(entry.Bytes),10} {YesNo(entry.Present),-7} {YesNo(entry.Pinned),-6} {YesNo(entry.Loaded),-6} {source}".TrimEnd());
            }

            output.WriteLine($"store {session.Store.Root}: {ByteSizes.Megabytes(present.Values.Sum(m => m.Bytes))} used"
                + (session.Store.BudgetBytes > 0 ? $" of {ByteSizes.Megabytes(session.Store.BudgetBytes)} (Models:DiskBudgetMb)" : ""));
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static Command Pull()
    {
        var store = StoreOption();
        var catalog = CatalogOption();
        var id = IdArgument();
        var command = new Command("pull", "Download, verify and convert a catalog model into the store") { id, store, catalog };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = Session.Open(parse, store, catalog);
            var stored = await session.PullAsync(parse.GetRequiredValue(id), cancellationToken);
            CliJson.Write(parse.InvocationConfiguration.Output, new StoredModelOutput(stored.Id, stored.Folder, stored.Bytes, stored.Pinned));
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static Command Remove()
    {
        var store = StoreOption();
        var id = IdArgument();
        var command = new Command("rm", "Delete a model from the store (not while a running node holds it in memory)") { id, store };
        command.SetAction(parse =>
        {
            using var session = Session.Open(parse, store, catalog: null);
            string model = parse.GetRequiredValue(id);
            if (session.Store.LoadedByRunningNode().Contains(model))
            {
                throw new ModelCommandException($"{model} is loaded by the running node: unload it first (the `unload` command on edgellm/node/{{nodeId}}/cmd) or stop the node");
            }

            if (!session.Store.Remove(model))
            {
                throw new ModelCommandException($"{model} is not in the store {session.Store.Root}");
            }

            parse.InvocationConfiguration.Output.WriteLine($"{model} removed");
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static Command Pin()
    {
        var store = StoreOption();
        var catalog = CatalogOption();
        var id = IdArgument();
        var command = new Command("pin", "Keep a model on this board and in memory: pulled now if absent, never evicted nor unloaded") { id, store, catalog };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var session = Session.Open(parse, store, catalog);
            string model = parse.GetRequiredValue(id);
            var stored = session.Store.Find(model) ?? await session.PullAsync(model, cancellationToken);
            session.Store.Pin(model);
            CliJson.Write(parse.InvocationConfiguration.Output, new StoredModelOutput(stored.Id, stored.Folder, stored.Bytes, Pinned: true));
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static Command Unpin()
    {
        var store = StoreOption();
        var id = IdArgument();
        var command = new Command("unpin", "Let a model pinned by `model pin` be unloaded when idle and evicted when room is needed") { id, store };
        command.SetAction(parse =>
        {
            using var session = Session.Open(parse, store, catalog: null);
            string model = parse.GetRequiredValue(id);
            session.Store.Unpin(model);
            parse.InvocationConfiguration.Output.WriteLine($"{model} unpinned");
            return EdgeLlmCli.Success;
        });
        return command;
    }

    private static ModelListEntry Entry(string id, CatalogModel? model, StoredModel? stored, ModelStore store, IReadOnlyList<string> loaded) =>
        new(id, model?.Tier, model?.Format ?? ModelFormats.OnnxGenAi, model?.Quantization ?? "", stored?.Bytes ?? model?.Bytes ?? 0, model is not null, stored is not null, store.IsPinned(id), loaded.Contains(id),
            stored is null ? null : SourceReceipt.Read(stored.Folder));

    private static string YesNo(bool value) => value ? "yes" : "no";

    // The store and catalog a command works on, with its log on stderr (pull progress, evictions, failed sources).
    private sealed class Session : IDisposable
    {
        private readonly HttpClient _http;
        private readonly ILoggerFactory _logging;

        private Session(ModelStore store, ModelCatalog catalog, HttpClient http, ILoggerFactory logging)
        {
            Store = store;
            Catalog = catalog;
            _http = http;
            _logging = logging;
        }

        public ModelStore Store { get; }

        public ModelCatalog Catalog { get; }

        public static Session Open(ParseResult parse, Option<DirectoryInfo> store, Option<FileInfo>? catalog)
        {
            var configuration = NodeConfiguration.Build([], NodeConfiguration.Directory);
            var options = CommandConfiguration.LocalModels(configuration);
            string root = parse.GetValue(store)?.FullName ?? options.StorePath;
            var models = catalog is null ? ModelCatalog.Empty : CommandConfiguration.ReadCatalog(parse.GetValue(catalog), configuration);
            var logging = LoggerFactory.Create(builder => builder
                .AddSimpleConsole(console => console.SingleLine = true)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
            var http = new HttpClient(ModelStore.CreateHttpHandler()) { Timeout = Timeout.InfiniteTimeSpan };
            var hub = HubSettings.Resolve(options.HfEndpoint, options.HfTokenFile);
            var opened = ModelStore.Open(root, (long)options.DiskBudgetMb << 20, options.Pinned, http, hub, new RootedSysFs("/"), TimeProvider.System, logging.CreateLogger("edgellm.store"));
            return new Session(opened, models, http, logging);
        }

        public Task<StoredModel> PullAsync(string id, CancellationToken cancellationToken)
        {
            var model = Catalog.Find(id) ?? throw new ModelUnavailableException($"{id} is not in the catalog ({Catalog.Models.Count} models)");
            return Store.PullAsync(model, () => Store.LoadedByRunningNode(), cancellationToken);
        }

        public void Dispose()
        {
            _http.Dispose();
            _logging.Dispose();
        }
    }
}
