using System.Device.Gpio;
using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Gpio;

/// <summary>
/// Buttons that ask: a press (its edge, past the debounce time since the last one) becomes a request with the
/// button's preset prompt and requirements, taken through the same pipeline as an MQTT request; the answer is
/// logged and published to the button's topic. A press while an earlier one is still being answered is
/// queued behind it or answered busy, as Gpio:WhileBusy says.
/// </summary>
internal sealed partial class ButtonPanel(
    GpioBoard board,
    IOptions<GpioOptions> options,
    INodePipeline pipeline,
    INodeTopics topics,
    TimeProvider time,
    ILogger<ButtonPanel> logger) : IHostedService
{
    private readonly GpioOptions _options = options.Value;
    private readonly Dictionary<int, long> _lastPress = [];
    private readonly List<(int Pin, PinChangeEventHandler Handler)> _registered = [];
    private int _pending;
    private long _presses;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (board.Controller is not GpioController controller)
        {
            return Task.CompletedTask;
        }

        foreach (var button in _options.Buttons)
        {
            PinChangeEventHandler handler = (_, _) => OnEdge(button);
            controller.RegisterCallbackForPinValueChangedEvent(button.Pin, button.Edge == "rising" ? PinEventTypes.Rising : PinEventTypes.Falling, handler);
            _registered.Add((button.Pin, handler));
        }

        return Task.CompletedTask;
    }

    /// <summary>Presses stop counting before the pipeline closes.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var (pin, handler) in _registered)
        {
            board.Controller?.UnregisterCallbackForPinValueChangedEvent(pin, handler);
        }

        _registered.Clear();
        return Task.CompletedTask;
    }

    private void OnEdge(ButtonOptions button)
    {
        long now = time.GetTimestamp();
        lock (_lastPress)
        {
            if (_lastPress.TryGetValue(button.Pin, out long last) && time.GetElapsedTime(last, now) < TimeSpan.FromMilliseconds(button.DebounceMs))
            {
                return;
            }

            _lastPress[button.Pin] = now;
        }

        _ = PressAsync(button);
    }

    private async Task PressAsync(ButtonOptions button)
    {
        string id = $"button-{button.Pin}-{Interlocked.Increment(ref _presses)}";
        string topic = button.Topic.Length > 0 ? button.Topic : topics.NodeTopic($"button/{button.Pin}");
        var replyTo = new PressReplyTarget(topics.PublishTo(topic, RequestFormat.Envelope), reply => OnReply(button.Pin, topic, reply));
        Log.ButtonPressed(logger, button.Pin, id, button.Prompt);
        if (Interlocked.Increment(ref _pending) > 1 && _options.WhileBusy == PressPolicies.Refuse)
        {
            await replyTo.SendAsync(new Failure(id, ErrorCode.Busy, $"button {button.Pin}: an earlier press is still being answered (Gpio:WhileBusy is refuse)"), CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var received = time.GetUtcNow();
        var request = new Request
        {
            Id = id,
            Prompt = button.Prompt,
            System = button.System,
            Domain = button.Domain,
            MaxTokens = button.MaxTokens,
            MaxLatencyMs = button.MaxLatencyMs,
            MinQuality = button.MinQuality,
            Privacy = button.Privacy switch { "local" => Privacy.Local, "fleet" => Privacy.Fleet, _ => Privacy.Any },
            Format = RequestFormat.Envelope,
        };
        try
        {
            await pipeline.SubmitAsync(new Submission(request, received, button.MaxLatencyMs is int ms ? received.AddMilliseconds(ms) : null, replyTo), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A press that breaks the door still gets its one reply, and the buttons keep working.
            Log.PressFailed(logger, e, button.Pin);
            await replyTo.SendAsync(new Failure(id, ErrorCode.Internal, "the node failed to take the press"), CancellationToken.None).ConfigureAwait(false);
        }
    }

    // A press's one reply: the press is no longer pending, and the reply is logged.
    private void OnReply(int pin, string topic, Reply reply)
    {
        Interlocked.Decrement(ref _pending);
        switch (reply)
        {
            case Answer answer:
                Log.ButtonAnswered(logger, pin, answer.Model, answer.Tier, answer.Text, topic);
                break;
            case Failure failure:
                Log.ButtonRefused(logger, pin, failure.Code.ToWireName(), failure.Message, topic);
                break;
            default:
                Log.ButtonRelayed(logger, pin, topic);
                break;
        }
    }

    // A press's reply route: the button's topic, with the panel told first.
    private sealed class PressReplyTarget(IReplyTarget inner, Action<Reply> onReply) : IReplyTarget
    {
        public string Key => inner.Key;

        public ValueTask SendAsync(Reply reply, CancellationToken cancellationToken)
        {
            onReply(reply);
            return inner.SendAsync(reply, cancellationToken);
        }

        public Task<bool> SendChunkAsync(Chunk chunk) => inner.SendChunkAsync(chunk);
    }
}
