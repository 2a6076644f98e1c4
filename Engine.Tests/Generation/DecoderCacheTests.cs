using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Generation;

namespace ServerlessInference.Engine.Tests.Generation;

/// <summary>The cache of a continuous decode on small made-up tensors: rows joining, leaving, and the cut-back of
/// self-attention slots no row uses any more.</summary>
public sealed class DecoderCacheTests
{
    [Fact]
    public void JoiningRowsArePaddedAndLeavingRowsFreeTheirSlots()
    {
        // A: one row 40 steps in (40 slots, source length 3); B: one row after its first step (1 slot, source length 2).
        using var cache = Cache(sourceLength: 3, steps: 40, first: 1f);
        var joining = Cache(sourceLength: 2, steps: 1, first: 100f);
        cache.Append(joining);

        Assert.Equal([40L, 1L], cache.Positions);
        Assert.Equal([2L, 1, 40, 2], cache.DecoderKv![0].GetTensorTypeAndShape().Shape);
        var joined = cache.DecoderKv[0].GetTensorDataAsSpan<float>()[80..].ToArray();
        Assert.Equal([100f, 101f], joined[..2]);               // its one slot, then zeros up to 40 slots
        Assert.All(joined[2..], v => Assert.Equal(0f, v));
        Assert.Equal([2L, 1, 3, 2], cache.EncoderKv![0].GetTensorTypeAndShape().Shape); // source axis padded to 3
        Assert.Equal([1L, 1, 1, 1, 1, 0], cache.MaskValue.GetTensorDataAsSpan<long>().ToArray());

        cache.Keep([1]); // the long row leaves: 39 slots are used by nobody, so the cache is cut back to 1

        Assert.Equal([1L], cache.Positions);
        Assert.Equal([1L, 1, 1, 2], cache.DecoderKv![0].GetTensorTypeAndShape().Shape);
        Assert.Equal([100f, 101f], cache.DecoderKv[0].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal([1L, 1, 0], cache.MaskValue.GetTensorDataAsSpan<long>().ToArray());
        Assert.Equal([1L, 3, 2], cache.Hidden.GetTensorTypeAndShape().Shape);
    }

    [Theory]
    [InlineData(new[] { 2, 0 })]
    [InlineData(new[] { 1, 1, 3 })]
    [InlineData(new[] { 3, 2, 1, 0 })]
    [InlineData(new[] { 0, 2 })]
    public void RowsKeptInPlaceEqualRowsGatheredIntoANewTensor(int[] rows)
    {
        var data = Enumerable.Range(0, 4 * 6).Select(i => (float)i).ToArray();
        using var original = OrtValue.CreateTensorValueFromMemory(data.ToArray(), [4, 2, 3]);
        using var gathered = DecoderCache.GatherRows<float>(original, rows);
        using var buffer = new RowBuffer(OrtValue.CreateTensorValueFromMemory(data.ToArray(), [4, 2, 3]));

        buffer.Keep(rows);

        Assert.Equal(gathered.GetTensorTypeAndShape().Shape, buffer.Value.GetTensorTypeAndShape().Shape);
        Assert.Equal(gathered.GetTensorDataAsSpan<float>().ToArray(), buffer.Value.GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>One row with <paramref name="steps"/> steps taken: self-attention slots [1, 1, steps, 2] whose slot t
    /// holds (first + 2t, first + 2t + 1), and cross-attention and hidden tensors over the source.</summary>
    private static DecoderCache Cache(int sourceLength, int steps, float first)
    {
        var hidden = OrtValue.CreateTensorValueFromMemory(new float[sourceLength * 2], [1, sourceLength, 2]);
        var mask = Enumerable.Repeat(1L, sourceLength).ToArray();
        var cache = new DecoderCache(hidden, mask, sourceLength);
        cache.EncoderKv = [OrtValue.CreateTensorValueFromMemory(new float[sourceLength * 2], [1, 1, sourceLength, 2])];
        for (int step = 1; step <= steps; step++)
        {
            var values = Enumerable.Range(0, step * 2).Select(i => first + i).ToArray();
            cache.ReplaceDecoderKv([OrtValue.CreateTensorValueFromMemory(values, [1, 1, step, 2])]);
        }

        return cache;
    }
}
