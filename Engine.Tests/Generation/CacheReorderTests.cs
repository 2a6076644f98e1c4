using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Generation;

namespace ServerlessInference.Engine.Tests.Generation;

/// <summary>The in-place beam reorder of the cache against a plain gather into a new tensor.</summary>
public sealed class CacheReorderTests
{
    [Theory]
    [InlineData(new[] { 0, 1, 2, 3 })]
    [InlineData(new[] { 1, 0, 3, 2 })]
    [InlineData(new[] { 0, 0, 0, 0 })]
    [InlineData(new[] { 2, 2, 1, 0 })]
    [InlineData(new[] { 3, 0, 1, 1, 4, 4, 7, 5 })]
    public void PermutingInPlaceEqualsGatheringIntoANewTensor(int[] rows)
    {
        var data = Enumerable.Range(0, rows.Length * 6).Select(i => (float)i).ToArray();
        using var original = OrtValue.CreateTensorValueFromMemory(data.ToArray(), [rows.Length, 2, 3]);
        using var gathered = DecoderCache.GatherRows<float>(original, rows);
        using var inPlace = OrtValue.CreateTensorValueFromMemory(data.ToArray(), [rows.Length, 2, 3]);

        DecoderCache.PermuteRowsInPlace<float>(inPlace, rows);

        Assert.Equal(gathered.GetTensorDataAsSpan<float>().ToArray(), inPlace.GetTensorDataAsSpan<float>().ToArray());
    }
}
