using System.Device.Gpio;
using EdgeLlm.Core.Processing;
using EdgeLlm.Device.Gpio;
using EdgeLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Device.Tests.Gpio;

public sealed class StatusLightsTests : IAsyncLifetime, IDisposable
{
    private const int IdlePin = 22;
    private const int BusyPin = 23;
    private const int EscalatedPin = 24;
    private const int ErrorPin = 25;

    private readonly SimulatedGpioDriver _chip = new();
    private readonly RecordingPipeline _pipeline = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private readonly GpioOptions _options = new()
    {
        ErrorHoldSeconds = 5,
        Leds =
        [
            new LedOptions { Pin = IdlePin, Shows = LedStates.Idle },
            new LedOptions { Pin = BusyPin, Shows = LedStates.Busy },
            new LedOptions { Pin = EscalatedPin, Shows = LedStates.Escalated },
            new LedOptions { Pin = ErrorPin, Shows = LedStates.Error, ActiveLow = true },
        ],
    };

    private GpioBoard? _board;
    private StatusLights? _lights;

    public async Task InitializeAsync()
    {
        _board = new GpioBoard(Create(_options), new SimulatedGpioChip(_chip), NullLogger<GpioBoard>.Instance);
        await _board.StartAsync(CancellationToken.None);
        _lights = new StatusLights(_board, Create(_options), _pipeline, _time);
        await _lights.StartAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => _lights!.StopAsync(CancellationToken.None);

    public void Dispose()
    {
        _lights?.Dispose();
        _board?.Dispose();
        _chip.Dispose();
    }

    [Fact]
    public async Task Idle_LightsOnlyTheIdleLed()
    {
        await TickAsync();

        await ExpectLitAsync([true, false, false, false]);
        Assert.Equal(PinValue.High, _chip.ValueOf(ErrorPin));
    }

    [Fact]
    public async Task ARequestRunningOrQueued_IsBusy_AndOneUpATier_IsEscalated()
    {
        _pipeline.Activity = new NodeActivity(Generating: true, Queued: 2, Escalated: 1, AwaitingPull: 0, Errors: 0);
        await TickAsync();
        await ExpectLitAsync([false, true, true, false]);

        _pipeline.Activity = new NodeActivity(Generating: false, Queued: 0, Escalated: 0, AwaitingPull: 1, Errors: 0);
        await TickAsync();
        await ExpectLitAsync([false, true, false, false]);
    }

    [Fact]
    public async Task AnErrorReply_LightsTheErrorLedForTheHoldTime()
    {
        await TickAsync();
        _pipeline.Activity = new NodeActivity(false, 0, 0, 0, Errors: 1);
        await TickAsync();
        await ExpectLitAsync([false, false, false, true]);
        Assert.Equal(PinValue.Low, _chip.ValueOf(ErrorPin));

        _time.Advance(TimeSpan.FromSeconds(5));
        await TickAsync();
        await ExpectLitAsync([true, false, false, false]);
    }

    [Fact]
    public async Task APinIsWrittenOnlyWhenItsStateChanges()
    {
        await TickAsync();
        await ExpectLitAsync([true, false, false, false]);
        int writes = _chip.Writes.Count;

        await TickAsync();
        await TickAsync();
        _pipeline.Activity = new NodeActivity(Generating: true, Queued: 0, Escalated: 0, AwaitingPull: 0, Errors: 0);
        await TickAsync();
        await ExpectLitAsync([false, true, false, false]);

        // Two ticks that changed nothing wrote nothing; the change to busy wrote its two pins.
        Assert.Equal(writes + 2, _chip.Writes.Count);
    }

    // One period of the lights' timer, and the loop seen to read the node's state for it.
    private async Task TickAsync()
    {
        int reads = _pipeline.ActivityReads;
        _time.Advance(StatusLights.Period);
        await Eventually.TrueAsync(() => _pipeline.ActivityReads > reads);
    }

    // The lights' loop runs on the thread pool after each tick: wait for it to show the expected state.
    private async Task ExpectLitAsync(bool[] expected)
    {
        await Eventually.TrueAsync(() => Lit().SequenceEqual(expected));
        Assert.Equal(expected, Lit());
    }

    private bool[] Lit() =>
    [
        _chip.ValueOf(IdlePin) == PinValue.High,
        _chip.ValueOf(BusyPin) == PinValue.High,
        _chip.ValueOf(EscalatedPin) == PinValue.High,
        _chip.ValueOf(ErrorPin) == PinValue.Low,
    ];
}
