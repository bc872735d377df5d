using System.Device.Gpio;
using EdgeLlm.Core.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeLlm.Device.Gpio;

/// <summary>
/// LEDs (or any outputs) that show what the node does: idle, busy (running, queued or waiting for a model),
/// escalated (an upper tier is answering), error (an error reply within Gpio:ErrorHoldSeconds). The state is
/// read ten times a second, and a pin is written only when its state changes; all go dark on stop.
/// </summary>
internal sealed class StatusLights(GpioBoard board, IOptions<GpioOptions> options, INodePipeline pipeline, TimeProvider time) : BackgroundService
{
    /// <summary>How often the node's state is read.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    private readonly GpioOptions _options = options.Value;
    private readonly Dictionary<int, bool> _lit = [];
    private long _errorsSeen;
    private DateTimeOffset _errorUntil = DateTimeOffset.MinValue;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (board.Controller is GpioController controller)
        {
            foreach (var led in _options.Leds)
            {
                controller.Write(led.Pin, led.ActiveLow ? PinValue.High : PinValue.Low);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (board.Controller is not GpioController controller || _options.Leds.Length == 0)
        {
            return;
        }

        _errorsSeen = pipeline.Activity.Errors;
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            do
            {
                Show(controller);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Show(GpioController controller)
    {
        var activity = pipeline.Activity;
        var now = time.GetUtcNow();
        if (activity.Errors > _errorsSeen)
        {
            _errorsSeen = activity.Errors;
            _errorUntil = now.AddSeconds(_options.ErrorHoldSeconds);
        }

        var states = new HashSet<string>();
        if (activity.Generating || activity.Queued > 0 || activity.AwaitingPull > 0)
        {
            states.Add(LedStates.Busy);
        }

        if (activity.Escalated > 0)
        {
            states.Add(LedStates.Escalated);
        }

        if (now < _errorUntil)
        {
            states.Add(LedStates.Error);
        }

        if (states.Count == 0)
        {
            states.Add(LedStates.Idle);
        }

        foreach (var led in _options.Leds)
        {
            bool lit = states.Contains(led.Shows);
            if (!_lit.TryGetValue(led.Pin, out bool was) || was != lit)
            {
                controller.Write(led.Pin, lit != led.ActiveLow ? PinValue.High : PinValue.Low);
                _lit[led.Pin] = lit;
            }
        }
    }
}
