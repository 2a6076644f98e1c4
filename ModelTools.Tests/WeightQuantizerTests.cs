using ServerlessInference.ModelTools;

namespace ServerlessInference.ModelTools.Tests;

public sealed class WeightQuantizerTests
{
    private static float[] RandomWeights(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.3f).ToArray();
    }

    [Theory]
    [InlineData(4, 32)]
    [InlineData(8, 32)]
    [InlineData(4, 64)]
    public void BlockwiseWeightsComeBackWithinHalfAStepUnlessClampedOnTheShortSide(int bits, int blockSize)
    {
        const int k = 128;
        const int n = 24;
        var weights = RandomWeights(k * n, seed: bits * blockSize);
        var (packed, scales) = WeightQuantizer.QuantizeBlockwise(weights, k, n, bits, blockSize);
        Assert.Equal(n * (k / blockSize) * blockSize * bits / 8, packed.Length);
        Assert.Equal(n * (k / blockSize), scales.Length);

        var restored = WeightQuantizer.DequantizeBlockwise(packed, scales, k, n, bits, blockSize);
        for (int row = 0; row < k; row++)
        {
            for (int column = 0; column < n; column++)
            {
                // Symmetric levels run from -2^(bits-1) to 2^(bits-1) - 1 steps: the block's largest magnitude takes the
                // long side, so a value near it in magnitude but of the other sign is clamped one level short.
                float scale = scales[column * (k / blockSize) + row / blockSize];
                float step = MathF.Abs(scale);
                float error = MathF.Abs(restored[row * n + column] - weights[row * n + column]);
                bool clamped = MathF.Abs(weights[row * n + column] / scale) > (1 << (bits - 1)) - 1;
                Assert.InRange(error, 0f, (clamped ? step : step / 2) * 1.0001f);
            }
        }
    }

    [Fact]
    public void FourBitBlocksHoldColumnsAlongKWithTheEvenRowInTheLowNibble()
    {
        // One column of 32 rows: the largest magnitude (-0.8, row 1) sets scale = -0.8 / -8 = 0.1 and maps to level 0;
        // row 0 (0.3) is level round(3 + 8) = 11.
        var column = new float[32];
        column[0] = 0.3f;
        column[1] = -0.8f;
        var (packed, scales) = WeightQuantizer.QuantizeBlockwise(column, 32, 1, 4, 32);
        Assert.Equal(0.1f, scales[0], 6);
        Assert.Equal((byte)(11 | (0 << 4)), packed[0]);
        Assert.Equal((byte)(8 | (8 << 4)), packed[1]);
    }

    [Fact]
    public void TheLargestMagnitudeOfABlockIsExactWhateverItsSign()
    {
        var weights = RandomWeights(64, seed: 7);
        weights[5] = 0.9f;
        weights[40] = -0.95f;
        var (packed, scales) = WeightQuantizer.QuantizeBlockwise(weights, 64, 1, 4, 32);
        var restored = WeightQuantizer.DequantizeBlockwise(packed, scales, 64, 1, 4, 32);
        Assert.Equal(0.9f, restored[5], 6);
        Assert.Equal(-0.95f, restored[40], 6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PerTensorWeightsComeBackWithinHalfAStep(bool signed)
    {
        var weights = RandomWeights(1000, seed: 3);
        weights[0] = 0.5f; // skewed range: the uint8 zero point is not 128
        var (levels, scale, zeroPoint) = WeightQuantizer.QuantizePerTensor(weights, signed);
        if (signed)
        {
            Assert.Equal(0, zeroPoint);
            Assert.All(levels, l => Assert.NotEqual(-128, (sbyte)l));
        }
        else
        {
            Assert.NotEqual(128, zeroPoint);
        }

        var restored = WeightQuantizer.DequantizePerTensor(levels, scale, zeroPoint, signed);
        for (int i = 0; i < weights.Length; i++)
        {
            Assert.InRange(MathF.Abs(restored[i] - weights[i]), 0f, scale / 2 * 1.0001f);
        }
    }

    [Fact]
    public void KThatIsNotAMultipleOfTheBlockIsRefused() =>
        Assert.Throws<ArgumentException>(() => WeightQuantizer.QuantizeBlockwise(new float[40 * 2], 40, 2, 4, 32));
}
