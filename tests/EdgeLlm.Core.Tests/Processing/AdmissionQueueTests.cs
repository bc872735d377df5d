using EdgeLlm.Core.Processing;
using EdgeLlm.Core.Requests;
using EdgeLlm.Core.Routing;

namespace EdgeLlm.Core.Tests.Processing;

/// <summary>The bounded queue in front of the local model, on its own: it says no when full, never drops.</summary>
public sealed class AdmissionQueueTests
{
    private static readonly Decision Local = new(RouteOutcome.Local, "general", "tiny", 0, [Reasons.FitsLocal], new Prediction(null, null, null), Degraded: false);

    [Fact]
    public void TryAdmit_WhenFull_SaysNo_AndKeepsWhatItHolds()
    {
        var queue = new AdmissionQueue(capacity: 2, maxPerRequester: 2);

        bool[] taken = [queue.TryAdmit(Ask("a"), Local), queue.TryAdmit(Ask("b"), Local), queue.TryAdmit(Ask("c"), Local)];

        Assert.Equal([true, true, false], taken);
        Assert.Equal(2, queue.Depth);
    }

    [Fact]
    public async Task AdmitAsync_WhenFull_WaitsForRoom_ThenTakesItInOrder()
    {
        var queue = new AdmissionQueue(capacity: 1, maxPerRequester: 1);
        queue.TryAdmit(Ask("first"), Local);

        var waiting = queue.AdmitAsync(Ask("second"), Local, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        var reader = queue.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        queue.Close();

        Assert.Equal("first", reader.Current.Submission.Request.Prompt);
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal("second", reader.Current.Submission.Request.Prompt);
        Assert.False(await reader.MoveNextAsync());
    }

    [Fact]
    public async Task AdmitAsync_OnceClosed_IsRefused()
    {
        var queue = new AdmissionQueue(capacity: 1, maxPerRequester: 1);
        queue.Close();

        Assert.False(queue.TryAdmit(Ask("late"), Local));
        await Assert.ThrowsAsync<System.Threading.Channels.ChannelClosedException>(() => queue.AdmitAsync(Ask("late"), Local, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task TryTake_ARequesterPastItsShare_IsToldSo_WhileAnotherIsTaken_AndReadingGivesThePlaceBack()
    {
        var queue = new AdmissionQueue(capacity: 8, maxPerRequester: 2);

        Admission[] chatty = [queue.TryTake(Ask("1", "sensors/t1"), Local), queue.TryTake(Ask("2", "sensors/t1"), Local), queue.TryTake(Ask("3", "sensors/t1"), Local)];
        var panel = queue.TryTake(Ask("p", "panels/7"), Local);
        var board = queue.TryTake(Ask("button"), Local);

        Assert.Equal([Admission.Taken, Admission.Taken, Admission.RequesterFull], chatty);
        Assert.Equal((Admission.Taken, Admission.Taken), (panel, board));
        var reader = queue.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal(Admission.Taken, queue.TryTake(Ask("4", "sensors/t1"), Local));
        Assert.Equal(Admission.RequesterFull, queue.TryTake(Ask("5", "sensors/t1"), Local));
    }

    [Fact]
    public void TryTake_WhenFull_SaysSo()
    {
        var queue = new AdmissionQueue(capacity: 2, maxPerRequester: 2);

        Admission[] taken = [queue.TryTake(Ask("a", "x"), Local), queue.TryTake(Ask("b", "y"), Local), queue.TryTake(Ask("c", "z"), Local)];

        Assert.Equal([Admission.Taken, Admission.Taken, Admission.Full], taken);
    }

    [Fact]
    public void TryAdmit_ARequestAlreadyAccepted_IsTakenPastItsRequestersShare()
    {
        var queue = new AdmissionQueue(capacity: 4, maxPerRequester: 1);
        queue.TryTake(Ask("1", "sensors/t1"), Local);

        Assert.True(queue.TryAdmit(Ask("fallback", "sensors/t1"), Local));
        Assert.Equal(Admission.RequesterFull, queue.TryTake(Ask("2", "sensors/t1"), Local));
    }

    private static Submission Ask(string prompt, string requester) => Ask(prompt) with { Requester = requester };

    private static Submission Ask(string prompt) => new(new Request { Prompt = prompt }, DateTimeOffset.UnixEpoch, null, new RecordingReplyTarget());
}
