using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EdgeLlm.Core;
using EdgeLlm.Core.Security;
using EdgeLlm.Mqtt.Fleet;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EdgeLlm.Worker.Dashboard;

/// <summary>
/// What the fleet page answers: its three assets, /api/fleet (the fleet now), /api/events (its changes,
/// server-sent) and, only when operators and TLS are configured, POST /api/nodes/{id}/commands
/// {"command", "model"} under an operator's basic authentication.
/// </summary>
internal sealed class FleetPageEndpoints(FleetState fleet, FleetCommands commands, PasswordFile? operators, TimeSpan commandTimeout, ILogger logger)
{
    /// <summary>A command is a few dozen bytes.</summary>
    private const int MaxCommandBytes = 1024;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        // Everything the page needs comes from here: no inline script, no other origin.
        response.Headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        string path = request.Path.Value ?? "/";
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            if (path == "/api/events")
            {
                await FleetEventStream.RunAsync(context, fleet, operators is not null).ConfigureAwait(false);
            }
            else if (path == "/api/fleet")
            {
                await WriteJsonAsync(response, StatusCodes.Status200OK, FleetJson.Fleet(fleet.Nodes, operators is not null)).ConfigureAwait(false);
            }
            else if (PageAssets.Find(path) is PageAsset asset)
            {
                await asset.WriteAsync(context).ConfigureAwait(false);
            }
            else
            {
                await WriteErrorAsync(response, StatusCodes.Status404NotFound, "not-found", $"no page {path}").ConfigureAwait(false);
            }
        }
        else if (HttpMethods.IsPost(request.Method) && CommandNode(path) is string node)
        {
            await CommandAsync(context, node).ConfigureAwait(false);
        }
        else
        {
            response.Headers.Allow = "GET, HEAD";
            await WriteErrorAsync(response, StatusCodes.Status405MethodNotAllowed, "read-only", $"{request.Method} {path} is not taken: the page is read-only").ConfigureAwait(false);
        }
    }

    private static string? CommandNode(string path) =>
        path.StartsWith("/api/nodes/", StringComparison.Ordinal) && path.EndsWith("/commands", StringComparison.Ordinal) && path.Length > "/api/nodes//commands".Length
            ? path["/api/nodes/".Length..^"/commands".Length]
            : null;

    private async Task CommandAsync(HttpContext context, string node)
    {
        var response = context.Response;
        if (operators is null)
        {
            await WriteErrorAsync(response, StatusCodes.Status403Forbidden, "forbidden", "this page is read-only: commands need Dashboard:OperatorsFile and Dashboard:CertificateFile").ConfigureAwait(false);
            return;
        }

        if (!context.Request.IsHttps)
        {
            await WriteErrorAsync(response, StatusCodes.Status403Forbidden, "forbidden", "commands are taken over HTTPS only").ConfigureAwait(false);
            return;
        }

        // No credentials: asked for (401, a basic challenge). Wrong ones: refused (403, as RFC 9110 §15.5.4
        // has it), so that a browser shows no login dialog of its own over the page's form.
        if (!AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var credentials))
        {
            response.Headers.WWWAuthenticate = "Basic realm=\"edgellm fleet\", charset=\"UTF-8\"";
            await WriteErrorAsync(response, StatusCodes.Status401Unauthorized, "unauthorized", "an operator's name and password are needed").ConfigureAwait(false);
            return;
        }

        if (Operator(credentials) is not string name)
        {
            await WriteErrorAsync(response, StatusCodes.Status403Forbidden, "forbidden", "wrong operator name or password").ConfigureAwait(false);
            return;
        }

        if (!fleet.Nodes.Any(n => n.Id == node && n.Online))
        {
            await WriteErrorAsync(response, StatusCodes.Status404NotFound, "not-found", $"no node {node} is online").ConfigureAwait(false);
            return;
        }

        var (command, model, problem) = await ReadCommandAsync(context.Request).ConfigureAwait(false);
        if (problem is not null)
        {
            await WriteErrorAsync(response, StatusCodes.Status400BadRequest, "bad-request", problem).ConfigureAwait(false);
            return;
        }

        Log.PageCommand(logger, name, command!, model!, node);
        try
        {
            var reply = await commands.SendAsync(node, command!, model!, name, commandTimeout, context.RequestAborted).ConfigureAwait(false);
            await WriteJsonAsync(response, reply.ErrorCode is null ? StatusCodes.Status200OK : StatusCodes.Status502BadGateway, Encoding.UTF8.GetBytes(reply.Envelope)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await WriteErrorAsync(response, StatusCodes.Status504GatewayTimeout, "timeout", $"{node} did not answer {command} {model} within {commandTimeout.TotalSeconds:F0} s (it may still be at it)").ConfigureAwait(false);
        }
    }

    // Basic credentials, checked against the operators file; null when malformed or wrong.
    private string? Operator(AuthenticationHeaderValue header)
    {
        if (!string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is null)
        {
            return null;
        }

        try
        {
            string pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            int colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && operators!.Verify(pair[..colon], pair[(colon + 1)..]))
            {
                return pair[..colon];
            }

            Log.OperatorRefused(logger, colon > 0 ? pair[..colon] : "(none)");
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static async Task<(string? Command, string? Model, string? Problem)> ReadCommandAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxCommandBytes)
        {
            return (null, null, $"a command takes at most {MaxCommandBytes} bytes");
        }

        var body = new byte[MaxCommandBytes + 1];
        int length = 0;
        int read;
        while (length <= MaxCommandBytes && (read = await request.Body.ReadAsync(body.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > MaxCommandBytes)
        {
            return (null, null, $"a command takes at most {MaxCommandBytes} bytes");
        }

        try
        {
            using var json = JsonPayload.Parse(body.AsMemory(0, length));
            var root = json.RootElement;
            string? command = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("command", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            string? model = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return command is null || !FleetCommands.Names.Contains(command)
                ? (null, null, $"\"command\" must be one of {string.Join(", ", FleetCommands.Names)}")
                : string.IsNullOrWhiteSpace(model) ? (null, null, "\"model\" must name a model id")
                : (command, model, null);
        }
        catch (JsonException e)
        {
            return (null, null, $"a command is a JSON object {{\"command\", \"model\"}}, and this is not JSON ({e.Message})");
        }
    }

    // The page's own refusals in the shape of a node's errors: {"error": {"code", "message"}}.
    private static Task WriteErrorAsync(HttpResponse response, int status, string code, string message) =>
        WriteJsonAsync(response, status, Core.JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("message", message);
            json.WriteEndObject();
            json.WriteEndObject();
        }));

    private static async Task WriteJsonAsync(HttpResponse response, int status, byte[] json)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = json.Length;
        await response.Body.WriteAsync(json).ConfigureAwait(false);
    }
}
