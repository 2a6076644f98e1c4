using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Translation;

/// <summary>The in-place beam reorder of the cache against a plain gather into a new tensor.</summary>
public sealed class CacheReorderTests
{
    [Theory]
    [InlineData(new[] { 0, 1, 2, 3 })]
    [InlineData(new[] { 1, 0, 3, 2 })]
    [InlineData(new[] { 0, 0, 0, 0 })]
    [InlineData(new[] { 2, 2, 1, 0 })]
    [InlineData(new[] { 3, 0, 1, 1, 4, 4, 7, 5 })]
    public void Permuting_in_place_equals_gathering_into_a_new_tensor(int[] rows)
    {
        var data = Enumerable.Range(0, rows.Length * 6).Select(i => (float)i).ToArray();
        using var original = OrtValue.CreateTensorValueFromMemory(data.ToArray(), [rows.Length, 2, 3]);
        using var gathered = MarianGenerator.GatherRows<float>(original, rows);
        using var inPlace = OrtValue.CreateTensorValueFromMemory(data.ToArray(), [rows.Length, 2, 3]);

        MarianGenerator.PermuteRowsInPlace<float>(inPlace, rows);

        Assert.Equal(gathered.GetTensorDataAsSpan<float>().ToArray(), inPlace.GetTensorDataAsSpan<float>().ToArray());
    }
}

/// <summary>How a batch's sources are grouped for the encoder.</summary>
public sealed class LengthBucketTests
{
    private static int[][] Sources(params int[] lengths) => lengths.Select(n => new int[n]).ToArray();

    [Fact]
    public void Similar_lengths_share_one_encoder_run() =>
        Assert.Single(MarianGenerator.LengthBuckets(Sources(10, 9, 11, 12, 10, 8)));

    [Fact]
    public void Clearly_longer_rows_get_their_own_run_and_every_row_appears_once()
    {
        var sources = Sources(30, 5, 6, 31, 5, 7, 29, 6, 28);
        var buckets = MarianGenerator.LengthBuckets(sources);

        Assert.Equal(2, buckets.Count);
        Assert.All(buckets[0], r => Assert.True(sources[r].Length <= 7));
        Assert.All(buckets[1], r => Assert.True(sources[r].Length >= 28));
        Assert.Equal(Enumerable.Range(0, sources.Length), buckets.SelectMany(b => b).Order());
    }

    [Fact]
    public void A_group_keeps_at_least_four_rows() =>
        Assert.Single(MarianGenerator.LengthBuckets(Sources(2, 20, 40, 80)));
}
