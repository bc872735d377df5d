using System.Collections.Concurrent;
using System.Device.Gpio;
using EdgeLlm.Device.Gpio;

namespace EdgeLlm.Tests;

/// <summary>
/// A GPIO chip in memory, behind the same GpioDriver the board's libgpiod driver implements: the test presses
/// buttons (an edge on an input line, as a contact makes it) and reads what was written to outputs.
/// </summary>
public sealed class SimulatedGpioDriver(int lines = 28) : GpioDriver
{
    private readonly ConcurrentDictionary<int, PinMode> _modes = new();
    private readonly ConcurrentDictionary<int, PinValue> _values = new();
    private readonly ConcurrentDictionary<int, List<(PinEventTypes Events, PinChangeEventHandler Handler)>> _callbacks = new();
    private readonly ConcurrentQueue<(int Pin, PinValue Value)> _writes = new();

    /// <summary>Every write to an output, in order.</summary>
    public IReadOnlyList<(int Pin, PinValue Value)> Writes => [.. _writes];

    public PinMode? ModeOf(int pin) => _modes.TryGetValue(pin, out var mode) ? mode : null;

    /// <summary>The level an output was last driven to.</summary>
    public PinValue ValueOf(int pin) => _values.GetValueOrDefault(pin, PinValue.Low);

    /// <summary>True once something waits for edges on <paramref name="pin"/>: a press before that is lost, as on a real chip.</summary>
    public bool Listens(int pin) => _callbacks.TryGetValue(pin, out var registered) && registered.Count > 0;

    /// <summary>Sends an edge on an input line: falling (a button to ground pressed) or rising.</summary>
    public void Edge(int pin, PinEventTypes edge)
    {
        _values[pin] = edge == PinEventTypes.Falling ? PinValue.Low : PinValue.High;
        var handlers = _callbacks.TryGetValue(pin, out var registered) ? registered.Where(c => c.Events.HasFlag(edge)).Select(c => c.Handler).ToList() : [];
        foreach (var handler in handlers)
        {
            handler(this, new PinValueChangedEventArgs(edge, pin));
        }
    }

    protected override int PinCount => lines;

    protected override void OpenPin(int pinNumber) => _modes.TryAdd(pinNumber, PinMode.Input);

    protected override void ClosePin(int pinNumber) => _modes.TryRemove(pinNumber, out _);

    protected override void SetPinMode(int pinNumber, PinMode mode) => _modes[pinNumber] = mode;

    protected override PinMode GetPinMode(int pinNumber) => _modes.GetValueOrDefault(pinNumber, PinMode.Input);

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => _values.GetValueOrDefault(pinNumber, PinValue.High);

    protected override void Write(int pinNumber, PinValue value)
    {
        _values[pinNumber] = value;
        _writes.Enqueue((pinNumber, value));
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the simulation raises events through callbacks only");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        _callbacks.GetOrAdd(pinNumber, _ => []).Add((eventTypes, callback));

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        if (_callbacks.TryGetValue(pinNumber, out var registered))
        {
            registered.RemoveAll(c => c.Handler == callback);
        }
    }
}

/// <summary>The simulated chip handed out as the node's GPIO chip, in place of libgpiod's.</summary>
public sealed class SimulatedGpioChip(SimulatedGpioDriver driver) : IGpioDriverSource
{
    public GpioDriver Open(int chip) => driver;
}
