using ServerlessInference.Engine.Generation.Decoding;

namespace ServerlessInference.Engine.Tests.Generation.Decoding;

/// <summary>The finished-hypothesis set of one source, scored sum / length^penalty as transformers' BeamHypotheses.</summary>
public sealed class BeamHypothesesTests
{
    [Fact]
    public void AFullSetAdmitsOnlyAHypothesisBetterThanItsWorst()
    {
        var set = new BeamHypotheses(capacity: 2, lengthPenalty: 1.0, earlyStopping: false);
        set.Add([1, 2], -4f);   // -2
        set.Add([3, 4], -2f);   // -1
        set.Add([5, 6], -6f);   // -3: worse than the worst, left out
        Assert.Equal(2, set.Count);
        Assert.Equal([3, 4], set.Best()!);

        set.Add([7], -0.5f);    // -0.5 replaces -2
        Assert.Equal(2, set.Count);
        Assert.Equal([7], set.Best()!);
    }

    [Fact]
    public void LengthPenaltyDividesByTheGeneratedLength()
    {
        var set = new BeamHypotheses(capacity: 2, lengthPenalty: 1.0, earlyStopping: false);
        set.Add([1, 2, 3, 4], -4f); // -1 per token
        set.Add([5], -1.5f);        // -1.5
        Assert.Equal([1, 2, 3, 4], set.Best()!);
    }

    [Fact]
    public void TheFirstOfEqualScoresIsBest()
    {
        var set = new BeamHypotheses(capacity: 3, lengthPenalty: 1.0, earlyStopping: false);
        set.Add([1], -1f);
        set.Add([2], -1f);
        Assert.Equal([1], set.Best()!);
    }

    [Fact]
    public void AnEmptySetHasNoBestAndIsNotDone()
    {
        var set = new BeamHypotheses(capacity: 1, lengthPenalty: 1.0, earlyStopping: true);
        Assert.Null(set.Best()!);
        Assert.False(set.IsDone(bestSumLogProbs: -100f, generated: 1));
    }

    [Theory]
    [InlineData(-3f, 2, true)]  // a running beam can reach at best -1.5: no better than the worst (-1)
    [InlineData(-1f, 2, false)] // it can still reach -0.5
    public void AFullSetIsDoneWhenNoRunningBeamCanBeatItsWorst(float bestSum, int generated, bool done)
    {
        var set = new BeamHypotheses(capacity: 1, lengthPenalty: 1.0, earlyStopping: false);
        set.Add([1, 2], -2f); // -1
        Assert.Equal(done, set.IsDone(bestSum, generated));
        Assert.Equal(!done, set.CanImprove(bestSum, generated));
    }

    [Fact]
    public void WithEarlyStoppingAFullSetIsDoneAtOnce()
    {
        var set = new BeamHypotheses(capacity: 1, lengthPenalty: 1.0, earlyStopping: true);
        set.Add([1, 2], -2f);
        Assert.True(set.IsDone(bestSumLogProbs: 0f, generated: 2));
    }
}
