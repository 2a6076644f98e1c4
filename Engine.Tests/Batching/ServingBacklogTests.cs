using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Engine.Tests.Batching;

public sealed class ServingBacklogTests
{
    /// <summary>A backlog whose engine was measured at <paramref name="secondsPerSentence"/>.</summary>
    private static ServingBacklog Measured(int bound, int concurrent, double secondsPerSentence)
    {
        var backlog = new ServingBacklog(bound, concurrent);
        backlog.Admit(10, WorkPriority.Interactive);
        backlog.Completed(10, TimeSpan.FromSeconds(10 * secondsPerSentence), measured: true);
        return backlog;
    }

    [Fact]
    public void WorkBeyondTheBoundIsTurnedAwayWithTheTimeTheBacklogTakesAtTheMeasuredSpeed()
    {
        var backlog = Measured(100, 1, 0.1);
        backlog.Admit(60, WorkPriority.Interactive);
        backlog.Admit(40, WorkPriority.Interactive);

        var busy = Assert.Throws<ServerBusyException>(() => backlog.Admit(1, WorkPriority.Interactive));
        Assert.Equal(TimeSpan.FromSeconds(10), busy.RetryAfter);
        Assert.Contains("100 sentences are pending", busy.Message);
        Assert.Equal(100, backlog.PendingSentences);
        Assert.Equal(10, backlog.SentencesPerSecond);
    }

    [Fact]
    public void FinishedAndWithdrawnWorkMakesRoomAgain()
    {
        var backlog = Measured(10, 1, 0.1);
        backlog.Admit(10, WorkPriority.Interactive);
        Assert.Throws<ServerBusyException>(() => backlog.Admit(1, WorkPriority.Interactive));

        backlog.Completed(4, TimeSpan.FromSeconds(0.4), measured: true);
        backlog.Withdrawn(2);
        backlog.Admit(6, WorkPriority.Interactive);
        Assert.Equal(10, backlog.PendingSentences);
    }

    [Fact]
    public void ARequestLargerThanTheBoundRunsWhenNothingElseIsPending()
    {
        var backlog = new ServingBacklog(10, 1);
        backlog.Admit(50, WorkPriority.Interactive);
        Assert.Throws<ServerBusyException>(() => backlog.Admit(1, WorkPriority.Interactive));
    }

    [Fact]
    public void BackgroundWorkFillsOnlyHalfOfTheBoundSoInteractiveCallersStillGetIn()
    {
        var backlog = new ServingBacklog(100, 1);
        backlog.Admit(40, WorkPriority.Background);
        Assert.Throws<ServerBusyException>(() => backlog.Admit(20, WorkPriority.Background));
        backlog.Admit(60, WorkPriority.Interactive);
        Assert.Equal(100, backlog.PendingSentences);
    }

    [Theory]
    [InlineData(1, 0.1, 100, 10)]
    [InlineData(2, 0.1, 100, 5)]
    [InlineData(1, 0.001, 100, 1)]
    [InlineData(1, 10, 100, 120)]
    public void RetryAfterIsTheBacklogOverEveryEngineSlotWithinOneSecondAndTwoMinutes(
        int concurrent, double secondsPerSentence, int pending, int expectedSeconds)
    {
        var backlog = Measured(1000, concurrent, secondsPerSentence);
        backlog.Admit(pending, WorkPriority.Interactive);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), backlog.RetryAfter);
    }

    [Fact]
    public void SpeedFollowsRecentBatchesWithoutJumpingToOneOddBatch()
    {
        var backlog = Measured(1000, 1, 0.1);
        backlog.Admit(10, WorkPriority.Interactive);
        backlog.Completed(10, TimeSpan.FromSeconds(10), measured: true);
        Assert.InRange(backlog.SentencesPerSecond!.Value, 1.0, 10.0);
        Assert.Equal(1 / (0.8 * 0.1 + 0.2 * 1.0), backlog.SentencesPerSecond!.Value, 6);
    }

    [Fact]
    public void SpeedIsUnknownUntilABatchHasBeenMeasured()
    {
        var backlog = new ServingBacklog(10, 1);
        Assert.Null(backlog.SentencesPerSecond);
        backlog.Admit(1, WorkPriority.Interactive);
        backlog.Completed(1, TimeSpan.FromSeconds(1), measured: false);
        Assert.Null(backlog.SentencesPerSecond);
    }
}
