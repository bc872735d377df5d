using System.CommandLine;
using System.Text;
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
        var timeout = new Option<int>("--timeout-ms") { Description = "How long to wait for the answer", DefaultValueFactory = _ => 60_000 };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--timeout-ms must be at least 1"); } });

        var command = new Command("ask", "Publish a request and print its answer (exit 1 on an error answer)") { text, server, topic, json, timeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string prompt = parse.GetRequiredValue(text);
            bool asEnvelope = parse.GetValue(json);
            byte[] payload = asEnvelope ? Envelope(prompt) : Encoding.UTF8.GetBytes(prompt);
            AskReply reply;
            try
            {
                reply = await MqttAskClient.AskAsync(parse.GetRequiredValue(server), parse.GetRequiredValue(topic), payload, TimeSpan.FromMilliseconds(parse.GetValue(timeout)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or MQTTnet.Exceptions.MqttCommunicationException)
            {
                throw new IOException(e.Message, e);
            }

            var output = parse.InvocationConfiguration.Output;
            if (reply.ErrorCode is null || asEnvelope)
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

    // A prompt becomes {"prompt": ...}; a JSON object is sent as it is.
    private static byte[] Envelope(string text)
    {
        if (text.TrimStart().StartsWith('{'))
        {
            return Encoding.UTF8.GetBytes(text);
        }

        return JsonPayload.Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("prompt", text);
            json.WriteEndObject();
        });
    }
}
