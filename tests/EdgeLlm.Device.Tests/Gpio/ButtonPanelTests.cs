using System.Device.Gpio;
using EdgeLlm.Core.Replies;
using EdgeLlm.Core.Requests;
using EdgeLlm.Device.Gpio;
using EdgeLlm.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Microsoft.Extensions.Options.Options;

namespace EdgeLlm.Device.Tests.Gpio;

public sealed class ButtonPanelTests : IDisposable
{
    private readonly SimulatedGpioDriver _chip = new();
    private readonly RecordingPipeline _pipeline = new();
    private readonly RecordingTopics _topics = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 8, 0, 0, TimeSpan.Zero));
    private GpioBoard? _board;

    public void Dispose()
    {
        _board?.Dispose();
        _chip.Dispose();
    }

    [Fact]
    public async Task Press_SubmitsThePresetPromptWithItsRequirements()
    {
        var panel = await StartAsync(new GpioOptions
        {
            Buttons = [new ButtonOptions { Pin = 17, Prompt = "Is bay 3's conveyor running hot?", Domain = "industrial", MaxTokens = 40, MaxLatencyMs = 2000, MinQuality = 0.2, Privacy = "local" }],
        });

        _chip.Edge(17, PinEventTypes.Falling);

        var submission = await NextSubmissionAsync();
        Assert.Equal(("Is bay 3's conveyor running hot?", "industrial", 40, 2000, 0.2, Privacy.Local), (submission.Request.Prompt, submission.Request.Domain, submission.Request.MaxTokens, submission.Request.MaxLatencyMs, submission.Request.MinQuality, submission.Request.Privacy));
        Assert.Equal(_time.GetUtcNow().AddMilliseconds(2000), submission.Deadline);
        Assert.Equal(PinMode.InputPullUp, _chip.ModeOf(17));
        await panel.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TheAnswer_IsPublishedToTheButtonsTopic_OrTheNodesButtonTopicByDefault()
    {
        await StartAsync(new GpioOptions
        {
            Buttons = [new ButtonOptions { Pin = 5, Prompt = "Once upon a time", Topic = "plant/bay3/panel" }, new ButtonOptions { Pin = 6, Prompt = "Lily" }],
        });

        _chip.Edge(5, PinEventTypes.Falling);
        _chip.Edge(6, PinEventTypes.Falling);
        var first = await NextSubmissionAsync();
        var second = await NextSubmissionAsync();
        foreach (var submission in new[] { first, second })
        {
            await submission.ReplyTo.SendAsync(new Answer(submission.Request.Id, "there was a girl", "stop", "pi-07", 0, "stories260k-int8", new Route("local", ["fits-local"]), new Usage(4, 4), 12), CancellationToken.None);
        }

        Assert.Equal(["edgellm/node/pi-07/button/6", "plant/bay3/panel"], _topics.Published.Select(p => p.Topic).Order(StringComparer.Ordinal));
        Assert.All(_topics.Published, p => Assert.IsType<Answer>(p.Reply));
    }

    [Fact]
    public async Task ContactBounce_WithinTheDebounceTime_IsOnePress()
    {
        await StartAsync(new GpioOptions { Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily", DebounceMs = 50 }] });

        _chip.Edge(17, PinEventTypes.Falling);
        _time.Advance(TimeSpan.FromMilliseconds(5));
        _chip.Edge(17, PinEventTypes.Falling);
        _time.Advance(TimeSpan.FromMilliseconds(30));
        _chip.Edge(17, PinEventTypes.Falling);
        _time.Advance(TimeSpan.FromMilliseconds(50));
        _chip.Edge(17, PinEventTypes.Falling);
        _time.Advance(TimeSpan.FromMilliseconds(50));
        _chip.Edge(17, PinEventTypes.Falling);

        // Presses are numbered as they are taken: the last clean press is the third, so the bounces made one.
        string[] ids = [.. (await SubmissionsAsync(3)).Select(s => s.Request.Id!).Order(StringComparer.Ordinal)];
        Assert.Equal(["button-17-1", "button-17-2", "button-17-3"], ids);
    }

    [Fact]
    public async Task TheOtherEdge_IsNoPress()
    {
        await StartAsync(new GpioOptions { Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily", Edge = "rising", Pull = "down" }] });

        _chip.Edge(17, PinEventTypes.Falling);
        _chip.Edge(17, PinEventTypes.Rising);
        var press = await NextSubmissionAsync();

        // Presses are numbered as they are taken: had the falling edge been one, this would be the second.
        Assert.Equal("button-17-1", press.Request.Id);
        Assert.Equal(PinMode.InputPullDown, _chip.ModeOf(17));
    }

    [Fact]
    public async Task APressWhileAnotherIsAnswered_IsRefusedBusy_WhenThePolicyRefuses()
    {
        await StartAsync(new GpioOptions { WhileBusy = PressPolicies.Refuse, Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily" }] });

        _chip.Edge(17, PinEventTypes.Falling);
        var first = await NextSubmissionAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        _chip.Edge(17, PinEventTypes.Falling);

        await Eventually.TrueAsync(() => !_topics.Published.IsEmpty);
        var refusal = Assert.IsType<Failure>(Assert.Single(_topics.Published).Reply);
        Assert.Equal(ErrorCode.Busy, refusal.Code);
        Assert.Empty(_pipeline.Submitted);

        // Once the first is answered, the next press is taken again.
        await first.ReplyTo.SendAsync(new Failure(first.Request.Id, ErrorCode.Timeout, "slow"), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        _chip.Edge(17, PinEventTypes.Falling);
        await Eventually.TrueAsync(() => _pipeline.Submitted.Count == 1);
    }

    [Fact]
    public async Task APressWhileAnotherIsAnswered_IsQueued_WhenThePolicyQueues()
    {
        await StartAsync(new GpioOptions { WhileBusy = PressPolicies.Queue, Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily" }] });

        _chip.Edge(17, PinEventTypes.Falling);
        _time.Advance(TimeSpan.FromSeconds(1));
        _chip.Edge(17, PinEventTypes.Falling);

        await Eventually.TrueAsync(() => _pipeline.Submitted.Count == 2);
        Assert.Empty(_topics.Published);
        Assert.Equal(2, _pipeline.Submitted.Select(s => s.Request.Id).Distinct().Count());
    }

    [Fact]
    public async Task APinTheChipDoesNotHave_StopsTheStartNamingIt()
    {
        var failure = await Assert.ThrowsAsync<GpioUnavailableException>(() => StartAsync(new GpioOptions { Buttons = [new ButtonOptions { Pin = 40, Prompt = "Lily" }] }));

        Assert.Equal("Gpio:Buttons:0:Pin 40: gpiochip0 has lines 0 to 27", failure.Message);
    }

    [Fact]
    public async Task NoChip_StopsTheStart_UnlessGpioIsOptional()
    {
        var options = new GpioOptions { Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily" }] };
        var required = new GpioBoard(Create(options), new MissingChip(), NullLogger<GpioBoard>.Instance);
        await Assert.ThrowsAsync<GpioUnavailableException>(() => required.StartAsync(CancellationToken.None));

        options.Optional = true;
        using var optional = new GpioBoard(Create(options), new MissingChip(), NullLogger<GpioBoard>.Instance);
        await optional.StartAsync(CancellationToken.None);
        Assert.Null(optional.Controller);
    }

    [Fact]
    public void Validation_NamesAPinUsedTwiceAndEveryBadValue()
    {
        var options = new GpioOptions
        {
            WhileBusy = "drop",
            Buttons = [new ButtonOptions { Pin = 17, Prompt = "Lily", Pull = "sideways" }, new ButtonOptions { Pin = 27, Prompt = " ", Edge = "both", Privacy = "public" }],
            Leds = [new LedOptions { Pin = 17, Shows = "happy" }],
        };

        var result = GpioOptionsValidator.Keyed.Validate(null, options);

        Assert.Equal(
            [
                "Gpio:WhileBusy must be one of queue, refuse, not 'drop'",
                "Gpio:Buttons:0:Pull must be up, down or none, not 'sideways'",
                "Gpio:Buttons:1:Edge must be falling or rising, not 'both'",
                "Gpio:Buttons:1:Prompt must be the prompt the button asks",
                "Gpio:Buttons:1:Privacy must be any, fleet or local, not 'public'",
                "Gpio:Leds:0:Shows must be one of idle, busy, escalated, error, not 'happy'",
                "Gpio: pin 17 is used 2 times (a pin is one button or one LED)",
            ],
            result.Failures);
    }

    [Fact]
    public void LibGpiod_OnAMachineWithoutThatChip_SaysSo()
    {
        var failure = Assert.Throws<GpioUnavailableException>(() => new LibGpiodDriverSource().Open(63));

        Assert.StartsWith("/dev/gpiochip63 does not exist", failure.Message);
        Assert.Contains("Gpio:Optional", failure.Message);
    }

    private async Task<ButtonPanel> StartAsync(GpioOptions options)
    {
        _board = new GpioBoard(Create(options), new SimulatedGpioChip(_chip), NullLogger<GpioBoard>.Instance);
        await _board.StartAsync(CancellationToken.None);
        var panel = new ButtonPanel(_board, Create(options), _pipeline, _topics, _time, NullLogger<ButtonPanel>.Instance);
        await panel.StartAsync(CancellationToken.None);
        return panel;
    }

    private async Task<Core.Processing.Submission[]> SubmissionsAsync(int count)
    {
        await Eventually.TrueAsync(() => _pipeline.Submitted.Count >= count);
        return [.. _pipeline.Submitted];
    }

    private async Task<Core.Processing.Submission> NextSubmissionAsync()
    {
        await Eventually.TrueAsync(() => !_pipeline.Submitted.IsEmpty);
        Assert.True(_pipeline.Submitted.TryDequeue(out var submission));
        return submission;
    }
}
