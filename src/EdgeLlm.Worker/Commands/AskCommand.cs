using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLlm.Mqtt;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm ask`: one request over MQTT, as a sensor or panel would send it, and its answer.</summary>
internal static class AskCommand
{
    // Text stays readable on the wire, as the node writes it.
    private static readonly JsonSerializerOptions EnvelopeWriting = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var text = new Argument<string>("TEXT") { Description = "The prompt (with --json: the prompt, or a whole JSON envelope)" };
        var server = new Option<string>("--server") { Description = "The broker, host:port", DefaultValueFactory = _ => "127.0.0.1:1883", HelpName = "host:port" };
        server.Validators.Add(r =>
        {
            string value = r.GetValueOrDefault<string>() ?? "";
            int colon = value.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(value[(colon + 1)..], out int port) || port is < 1 or > 65535)
            {
                r.AddError($"--server must be host:port, not '{value}'");
            }
        });
        var topic = new Option<string>("--topic") { Description = "The topic to ask on", DefaultValueFactory = _ => "edgellm/ask/cli" };
        var json = new Option<bool>("--json") { Description = "Send a JSON envelope and print the answer envelope" };
        var stream = new Option<bool>("--stream") { Description = "Ask for a streamed answer (an envelope with \"stream\": true) and print its text as it comes" };
        var conversation = new Option<string?>("--conversation") { Description = "Go on with the conversation the node keeps under this id (an envelope with \"conversation\")", HelpName = "ID" };
        var timeout = new Option<int>("--timeout-ms") { Description = "How long to wait for the answer", DefaultValueFactory = _ => 60_000 };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--timeout-ms must be at least 1"); } });

        var command = new Command("ask", "Publish a request and print its answer (exit 1 on an error answer)") { text, server, topic, json, stream, conversation, timeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string prompt = parse.GetRequiredValue(text);
            bool asEnvelope = parse.GetValue(json);
            bool streamed = parse.GetValue(stream);
            string? conversationId = parse.GetValue(conversation);
            byte[] payload = asEnvelope || streamed || conversationId is not null ? Envelope(prompt, streamed, conversationId) : Encoding.UTF8.GetBytes(prompt);
            var output = parse.InvocationConfiguration.Output;
            int deltas = 0;
            AskReply reply;
            try
            {
                reply = await MqttAskClient.AskAsync(
                    parse.GetRequiredValue(server),
                    parse.GetRequiredValue(topic),
                    payload,
                    TimeSpan.FromMilliseconds(parse.GetValue(timeout)),
                    cancellationToken,
                    streamed ? delta => { output.Write(delta); output.Flush(); deltas++; } : null).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                throw new IOException(e.Message, e);
            }

            if ((streamed || conversationId is not null) && !asEnvelope)
            {
                await PrintTextAsync(parse, reply, deltas).ConfigureAwait(false);
            }
            else if (reply.ErrorCode is null || asEnvelope)
            {
                await output.WriteLineAsync(reply.Payload).ConfigureAwait(false);
            }
            else
            {
                // Plain text errors read "error: code: message".
                await parse.InvocationConfiguration.Error.WriteLineAsync($"edgellm: {reply.Payload}").ConfigureAwait(false);
            }

            return reply.ErrorCode is null ? EdgeLlmCli.Success : EdgeLlmCli.Failure;
        });
        return command;
    }

    // An envelope the command made for a prompt is printed as the prompt's answer would be: its text (unless
    // its chunks printed it already), or its error.
    private static async Task PrintTextAsync(ParseResult parse, AskReply reply, int deltas)
    {
        using var final = JsonDocument.Parse(reply.Payload);
        var root = final.RootElement;
        var output = parse.InvocationConfiguration.Output;
        if (reply.ErrorCode is null && deltas == 0 && root.TryGetProperty("text", out var whole))
        {
            await output.WriteAsync(whole.GetString()).ConfigureAwait(false);
        }

        if (reply.ErrorCode is null || deltas > 0)
        {
            await output.WriteLineAsync().ConfigureAwait(false);
        }

        if (reply.ErrorCode is string code)
        {
            string message = root.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
            await parse.InvocationConfiguration.Error.WriteLineAsync($"edgellm: error: {code}: {message}").ConfigureAwait(false);
        }
    }

    // A prompt becomes {"prompt": ...}; a JSON object is sent as it is (the node judges it), with "stream"
    // and "conversation" added when asked.
    private static byte[] Envelope(string text, bool streamed, string? conversation)
    {
        bool adding = streamed || conversation is not null;
        if (!text.TrimStart().StartsWith('{'))
        {
            text = new JsonObject { ["prompt"] = text }.ToJsonString();
        }
        else if (!adding)
        {
            return Encoding.UTF8.GetBytes(text);
        }

        JsonObject envelope;
        try
        {
            envelope = JsonNode.Parse(text) as JsonObject ?? throw new UsageException("TEXT opens like a JSON envelope but is not an object");
        }
        catch (JsonException e)
        {
            throw new UsageException($"TEXT opens like a JSON envelope but is not one: {e.Message}");
        }

        if (streamed)
        {
            envelope["stream"] = true;
        }

        if (conversation is not null)
        {
            envelope["conversation"] = conversation;
        }

        return Encoding.UTF8.GetBytes(envelope.ToJsonString(EnvelopeWriting));
    }
}
