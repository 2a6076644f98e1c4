using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// 4-bit symmetric block quantisation of a [rows, columns] float32 matrix in MatMulNBits' layout (blocks of
/// <see cref="BlockSize"/> along a row, zero point 8, two levels a byte, low nibble first), with each row's norms of
/// the quantisation error and of the quantised row, which bound the approximate scores (see <see cref="OutputProjection"/>).
/// Rows are independent: they are quantised in parallel, the levels of a block with vector instructions.
/// </summary>
internal static class BlockQuantizer
{
    public const int BlockSize = 32;

    /// <summary>Quantised matrix: <see cref="Packed"/> [rows, blocks, BlockSize / 2], <see cref="Scales"/> [rows, blocks];
    /// per row ‖w − w̃‖ and ‖w̃‖ (each × 1.001, a margin for float rounding).</summary>
    public sealed record Result(byte[] Packed, float[] Scales, float[] ErrorNorm, float[] QuantizedNorm);

    public static Result Quantize(float[] weights, int rows, int columns)
    {
        if (columns % BlockSize != 0 || (long)rows * columns > weights.Length)
        {
            throw new ArgumentException("columns must be a multiple of the block size and the matrix must fit");
        }

        int blocks = columns / BlockSize;
        var result = new Result(new byte[rows * blocks * BlockSize / 2], new float[rows * blocks], new float[rows], new float[rows]);
        Parallel.ForEach(Partitioner.Create(0, rows, Math.Max(256, rows / (4 * Environment.ProcessorCount))), range =>
        {
            for (int row = range.Item1; row < range.Item2; row++)
            {
                QuantizeRow(weights, row, columns, result);
            }
        });
        return result;
    }

    private static void QuantizeRow(float[] weights, int row, int columns, Result result)
    {
        int blocks = columns / BlockSize;
        Span<int> levels = stackalloc int[BlockSize];
        Span<float> dequantized = stackalloc float[BlockSize];
        double error = 0;
        double quantized = 0;
        for (int b = 0; b < blocks; b++)
        {
            var block = weights.AsSpan(row * columns + b * BlockSize, BlockSize);
            float absMax = MathF.Abs(TensorPrimitives.MaxMagnitude(block));
            float scale = absMax > 0 ? absMax / 7f : 1f;
            result.Scales[row * blocks + b] = scale;
            Levels(block, scale, levels, dequantized);
            for (int i = 0; i < BlockSize; i++)
            {
                double difference = block[i] - (double)dequantized[i];
                error += difference * difference;
                quantized += (double)dequantized[i] * dequantized[i];
            }

            var packed = result.Packed.AsSpan((row * blocks + b) * BlockSize / 2, BlockSize / 2);
            for (int i = 0; i < packed.Length; i++)
            {
                packed[i] = (byte)(levels[2 * i] | (levels[2 * i + 1] << 4));
            }
        }

        result.ErrorNorm[row] = (float)Math.Sqrt(error) * 1.001f;
        result.QuantizedNorm[row] = (float)Math.Sqrt(quantized) * 1.001f;
    }

    /// <summary>level = clamp(round(w / scale) + 8, 0, 15) (round half to even), dequantized = (level − 8) · scale.</summary>
    private static void Levels(ReadOnlySpan<float> block, float scale, Span<int> levels, Span<float> dequantized)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vScale = Vector256.Create(scale);
            var eight = Vector256.Create(8);
            var fifteen = Vector256.Create(15);
            for (; i <= BlockSize - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Create(block.Slice(i, Vector256<float>.Count));
                var level = Vector256.ConvertToInt32(Vector256.Round(x / vScale)) + eight;
                level = Vector256.Min(Vector256.Max(level, Vector256<int>.Zero), fifteen);
                level.CopyTo(levels.Slice(i));
                (Vector256.ConvertToSingle(level - eight) * vScale).CopyTo(dequantized.Slice(i));
            }
        }

        for (; i < BlockSize; i++)
        {
            int level = Math.Clamp((int)MathF.Round(block[i] / scale) + 8, 0, 15);
            levels[i] = level;
            dequantized[i] = (level - 8) * scale;
        }
    }
}
