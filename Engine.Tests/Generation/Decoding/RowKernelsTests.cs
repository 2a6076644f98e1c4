using ServerlessInference.Engine.Kernels;

namespace ServerlessInference.Engine.Tests.Generation.Decoding;

/// <summary>The vectorised search kernels against the plain loops they replace, including the tails after the last
/// full vector, ties, and banned ids sitting on the maximum.</summary>
public sealed class SamplingTests
{
    private static readonly int[] Banned = [5];

    public static TheoryData<int, int> Rows() => new() { { 3, 1 }, { 8, 2 }, { 13, 3 }, { 64, 4 }, { 7933, 5 }, { 7933, 6 } };

    private static float[] RandomRow(int length, int seed)
    {
        var random = new Random(seed);
        // Coarse values make exact ties common, so tie-breaking is exercised too.
        return Enumerable.Range(0, length).Select(_ => MathF.Round((float)(random.NextDouble() * 40 - 20), 1)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TopKScanPicksWhatAScalarLoopPicks(int length, int seed)
    {
        var row = RandomRow(length, seed);
        var (max, logSum) = RowKernels.LogSumExpParts(row);
        const float beamScore = -1.25f;
        var scores = new float[8];
        var ids = new int[8];
        int filled = TopK.Scan(row, beamScore, max, logSum, Banned, 1000, scores, ids, 0);

        var expectedScores = new float[8];
        var expectedIds = new int[8];
        int expectedFilled = 0;
        for (int v = 0; v < row.Length; v++)
        {
            if (!Banned.Contains(v))
            {
                expectedFilled = TopK.Insert(expectedScores, expectedIds, expectedFilled,
                    beamScore + (row[v] - max - logSum), 1000 + v);
            }
        }

        Assert.Equal(expectedFilled, filled);
        Assert.Equal(expectedIds, ids);
        Assert.Equal(expectedScores, scores);
        Assert.DoesNotContain(1005, ids);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void LogSumExpMatchesADoublePrecisionReference(int length, int seed)
    {
        var row = RandomRow(length, seed);
        var (max, logSum) = RowKernels.LogSumExpParts(row);
        Assert.Equal(row.Max(), max);
        double expected = Math.Log(row.Sum(x => Math.Exp(x - (double)row.Max())));
        Assert.Equal(expected, logSum, 5);
    }

    [Fact]
    public void ArgMaxTakesTheFirstOfEqualMaxima()
    {
        var row = new float[20];
        row[9] = 3;
        row[17] = 3;
        Assert.Equal(9, RowKernels.ArgMax(row, Banned));
    }

    [Fact]
    public void ArgMaxSkipsABannedMaximum()
    {
        var row = RandomRow(7933, 7);
        row[5] = 1000;
        row[4000] = 999;
        Assert.Equal(4000, RowKernels.ArgMax(row, Banned));
    }
}
