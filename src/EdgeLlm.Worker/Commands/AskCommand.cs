using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLlm.Core;
using EdgeLlm.Mqtt;

namespace EdgeLlm.Worker.Commands;

/// <summary>`edgellm ask`: one request over MQTT, as a sensor or panel would send it, and its answer.</summary>
internal static class AskCommand
{
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
        var timeout = new Option<int>("--timeout-ms") { Description = "How long to wait for the answer", DefaultValueFactory = _ => 60_000 };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--timeout-ms must be at least 1"); } });

        var command = new Command("ask", "Publish a request and print its answer (exit 1 on an error answer)") { text, server, topic, json, stream, timeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string prompt = parse.GetRequiredValue(text);
            bool asEnvelope = parse.GetValue(json);
            bool streamed = parse.GetValue(stream);
            byte[] payload = asEnvelope || streamed ? Envelope(prompt, streamed) : Encoding.UTF8.GetBytes(prompt);
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

            if (streamed && !asEnvelope)
            {
                await EndStreamAsync(parse, reply, deltas).ConfigureAwait(false);
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

    // The streamed text is out; the final envelope adds the text only when no chunk came (a node that does
    // not stream), and tells an error.
    private static async Task EndStreamAsync(ParseResult parse, AskReply reply, int deltas)
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

    // A prompt becomes {"prompt": ...}; a JSON object is sent as it is, with "stream": true added when asked.
    private static byte[] Envelope(string text, bool streamed)
    {
        if (text.TrimStart().StartsWith('{'))
        {
            JsonNode? parsed;
            try
            {
                parsed = streamed ? JsonNode.Parse(text) : null;
            }
            catch (JsonException e)
            {
                throw new UsageException($"TEXT opens like a JSON envelope but is not one: {e.Message}");
            }

            if (parsed is not JsonObject envelope)
            {
                return Encoding.UTF8.GetBytes(text);
            }

            envelope["stream"] = true;
            return Encoding.UTF8.GetBytes(envelope.ToJsonString());
        }

        return JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("prompt", text);
            if (streamed)
            {
                json.WriteBoolean("stream", true);
            }

            json.WriteEndObject();
        });
    }
}
