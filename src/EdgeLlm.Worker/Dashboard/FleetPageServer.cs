using System.Net;
using EdgeLlm.Core.Security;
using EdgeLlm.Mqtt.Fleet;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>
/// Serves the fleet page with Kestrel on Dashboard:Address and Port, over TLS when a certificate is given.
/// Kestrel runs as a host of its own inside the node's, with nothing but the page: no configuration files,
/// no routing, no logging of its own beyond warnings.
/// </summary>
internal sealed class FleetPageServer(IOptions<DashboardOptions> options, FleetState fleet, FleetCommands commands, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<FleetPageServer>();
    private WebApplication? _page;

    /// <summary>Where the page is served, once started (the port the system chose when Port was 0 in a test).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var operators = settings.CommandsAllowed ? PasswordFile.Read(settings.OperatorsFile) : null;
        var certificate = settings.CertificateFile.Length > 0 ? Certificates.Load(settings.CertificateFile, settings.KeyFile) : null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "edgellm-dashboard" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 4096;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Listen(IPAddress.Parse(settings.Address), settings.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });
        builder.Logging.AddFilter(_ => false);
        _page = builder.Build();
        var endpoints = new FleetPageEndpoints(fleet, commands, operators, TimeSpan.FromSeconds(settings.CommandTimeoutSeconds), _logger);
        _page.Run(endpoints.HandleAsync);
        await _page.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = new Uri(_page.Urls.First());
        Address = new UriBuilder(bound) { Host = settings.Address is "0.0.0.0" or "::" ? "localhost" : bound.Host }.Uri;
        Log.PageServed(_logger, Address.ToString(), operators is null ? "read-only" : $"commands from {operators.Count} operator(s)");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_page is not null)
        {
            await _page.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.DisposeAsync().ConfigureAwait(false);
        }
    }
}
