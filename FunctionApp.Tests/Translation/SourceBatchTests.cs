using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Translation;

/// <summary>How a call's model inputs are grouped into batches and traced back to where they came from.</summary>
public sealed class SourceBatchTests
{
    private static int[][] Inputs(params int[] lengths) =>
        lengths.Select((n, i) => Enumerable.Repeat(i, n).ToArray()).ToArray();

    [Fact]
    public void EveryInputIsInOneBatchAtItsOriginalIndexAndNoBatchIsTooLarge()
    {
        var inputs = Inputs(7, 3, 9, 1, 4, 4, 8, 2, 6, 5, 3);
        var batches = SourceBatch.Rebatch(inputs, maxBatchSize: 4);

        Assert.Equal([4, 4, 3], batches.Select(b => b.Indices.Length));
        Assert.Equal(Enumerable.Range(0, inputs.Length), batches.SelectMany(b => b.Indices).Order());
        Assert.All(batches, b => Assert.Equal(b.Indices.Select(i => inputs[i]), b.Sources));
    }

    [Fact]
    public void BatchesRunShortestFirstAndEqualLengthsKeepTheirOrder()
    {
        var inputs = Inputs(5, 2, 5, 1, 2, 5);
        var batches = SourceBatch.Rebatch(inputs, maxBatchSize: 3);

        Assert.Equal([[3, 1, 4], [0, 2, 5]], batches.Select(b => b.Indices));
    }

    [Fact]
    public void NoInputsMakeNoBatches() => Assert.Empty(SourceBatch.Rebatch([], maxBatchSize: 32));

    [Fact]
    public void ABatchSizeBelowOneIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SourceBatch.Rebatch(Inputs(3), maxBatchSize: 0));
}
