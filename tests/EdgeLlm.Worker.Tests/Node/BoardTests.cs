using System.Device.Gpio;
using System.Text.Json;
using EdgeLlm.Device.Gpio;
using EdgeLlm.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLlm.Worker.Tests.Node;

/// <summary>
/// The board's own inputs and outputs on a whole node: a simulated GPIO chip (this machine has none) behind
/// the driver interface libgpiod implements, a real model and a real broker.
/// </summary>
public sealed class BoardTests(MosquittoFixture mosquitto, NodeModels models) : IClassFixture<MosquittoFixture>, IClassFixture<NodeModels>, IDisposable
{
    private readonly SimulatedGpioDriver _chip = new();

    public void Dispose() => _chip.Dispose();

    [Fact]
    public async Task AButtonPress_IsAnsweredByTheModel_OnTheButtonsTopic()
    {
        await using var node = await StartBoardAsync(models.Stories, "Gpio:Buttons:0:MaxTokens=12");
        await using var panel = await TestRequester.ConnectAsync(mosquitto.Broker.Server, subscribe: "edgellm/node/pi-board/button/17");
        await Eventually.TrueAsync(() => _chip.Listens(17));

        _chip.Edge(17, PinEventTypes.Falling);

        var reply = await panel.WaitForAsync(_ => true, TimeSpan.FromSeconds(30));
        using var answer = JsonDocument.Parse(reply.Payload);
        Assert.Equal(models.StoriesContinuation("Once upon a time", 12), answer.RootElement.GetProperty("text").GetString());
        Assert.StartsWith("button-17-", answer.RootElement.GetProperty("id").GetString());
        Assert.Equal("answer", reply.Type);
    }

    [Fact]
    public async Task TheLights_ShowIdle_ThenBusyWhileAPressIsAnswered_ThenIdleAgain()
    {
        // A model slow enough (some milliseconds a token) for the lights, read ten times a second, to see it work.
        await using var node = await StartBoardAsync(models.Slow, "Gpio:Buttons:0:MaxTokens=120");
        await Eventually.TrueAsync(() => _chip.ValueOf(IdleLight) == PinValue.High && _chip.ValueOf(BusyLight) == PinValue.Low && _chip.Listens(17));
        int before = _chip.Writes.Count;

        _chip.Edge(17, PinEventTypes.Falling);

        // The writes since the press, so that a busy spell shorter than the test's polling is still seen.
        int BusyAt() => _chip.Writes.Skip(before).ToList().FindIndex(w => w == (BusyLight, PinValue.High));
        await Eventually.TrueAsync(() => BusyAt() >= 0, TimeSpan.FromSeconds(30), "the busy light coming on after the press");
        await Eventually.TrueAsync(() => _chip.Writes.Skip(before + BusyAt()).Contains((IdleLight, PinValue.High)) && _chip.ValueOf(BusyLight) == PinValue.Low,
            TimeSpan.FromSeconds(30), "the idle light coming back once the press was answered");
    }

    [Fact]
    public async Task GpioConfiguredOnAMachineWithoutIt_StopsTheStartWithTheReason()
    {
        var run = await CliRun.Of("serve", $"--Mqtt:Server={mosquitto.Broker.Server}", "--Models:OnDemand=off", $"--Models:StorePath={Path.GetTempPath()}", "--Gpio:Chip=63", "--Gpio:Buttons:0:Pin=17", "--Gpio:Buttons:0:Prompt=Lily");

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("edgellm: gpio: /dev/gpiochip63 does not exist", run.Error.Trim());
    }

    [Fact]
    public async Task OptionalGpioMissing_LeavesANodeThatServes()
    {
        await using var node = await RunningNode.StartAsync($"Mqtt:Server={mosquitto.Broker.Server}", $"Models:Local={models.Stories}", "Gpio:Chip=63", "Gpio:Optional=true", "Gpio:Leds:0:Pin=22");
        await using var requester = await TestRequester.ConnectAsync(mosquitto.Broker.Server);

        var reply = await requester.AskAsync("edgellm/ask/after", "Lily");

        Assert.Null(reply.Error);
        Assert.Null(node.Service<GpioBoard>().Controller);
    }

    private const int IdleLight = 22;
    private const int BusyLight = 23;

    // A node whose button 17 asks "Once upon a time" and whose lights show idle and busy, on the simulated chip.
    private Task<RunningNode> StartBoardAsync(string model, params string[] settings) =>
        RunningNode.StartAsync(
            services => services.AddSingleton<IGpioDriverSource>(new SimulatedGpioChip(_chip)),
            [
                $"Mqtt:Server={mosquitto.Broker.Server}",
                $"Models:Local={model}",
                // The board's own model answers, nothing is pulled.
                "Models:OnDemand=off",
                "Node:Id=pi-board",
                "Gpio:Buttons:0:Pin=17",
                "Gpio:Buttons:0:Prompt=Once upon a time",
                $"Gpio:Leds:0:Pin={IdleLight}",
                "Gpio:Leds:0:Shows=idle",
                $"Gpio:Leds:1:Pin={BusyLight}",
                "Gpio:Leds:1:Shows=busy",
                .. settings,
            ]);
}
