using ServerlessInference.Engine.Generation;

namespace ServerlessInference.Engine.Tests.Generation;

/// <summary>How a batch's sources are grouped for the encoder.</summary>
public sealed class LengthBucketTests
{
    private static int[][] Sources(params int[] lengths) => lengths.Select(n => new int[n]).ToArray();

    [Fact]
    public void SimilarLengthsShareOneEncoderRun() =>
        Assert.Single(EncoderBatch.LengthBuckets(Sources(10, 9, 11, 12, 10, 8)));

    [Fact]
    public void ClearlyLongerRowsGetTheirOwnRunAndEveryRowAppearsOnce()
    {
        var sources = Sources(30, 5, 6, 31, 5, 7, 29, 6, 28);
        var buckets = EncoderBatch.LengthBuckets(sources);

        Assert.Equal(2, buckets.Count);
        Assert.All(buckets[0], r => Assert.True(sources[r].Length <= 7));
        Assert.All(buckets[1], r => Assert.True(sources[r].Length >= 28));
        Assert.Equal(Enumerable.Range(0, sources.Length), buckets.SelectMany(b => b).Order());
    }

    [Fact]
    public void AGroupKeepsAtLeastFourRows() =>
        Assert.Single(EncoderBatch.LengthBuckets(Sources(2, 20, 40, 80)));
}
