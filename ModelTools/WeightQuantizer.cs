using System.Runtime.InteropServices;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.ModelTools;

/// <summary>
/// The weight arithmetic of the quantized variants, written to give the same bytes as ONNX Runtime's quantizers so a
/// file made here is what a user with Python would get (models/README.md lists the commands).
/// </summary>
internal static class WeightQuantizer
{
    /// <summary>
    /// MatMulNBits' blockwise symmetric quantisation of a row-major [k, n] weight B, as ONNX Runtime's MLAS
    /// BlockwiseQuantizer (column-wise blocks, no zero points) does it: per output column and block of
    /// <paramref name="blockSize"/> rows, scale = (the value of largest magnitude) / −2^(bits−1), level =
    /// clamp(round(v / scale + 2^(bits−1)), 0, 2^bits − 1), rounding halves away from zero. Returns B as MatMulNBits
    /// reads it, [n, k / blockSize, blockSize · bits / 8] (4 bits: the even row in the low nibble), and scales
    /// [n · k / blockSize].
    /// </summary>
    public static (byte[] Packed, float[] Scales) QuantizeBlockwise(ReadOnlySpan<float> weight, int k, int n, int bits, int blockSize)
    {
        if (bits is not (4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "only 4 and 8 bits are supported");
        }

        if (k % blockSize != 0 || blockSize < 16 || (blockSize & (blockSize - 1)) != 0)
        {
            throw new ArgumentException($"k {k} must be a multiple of the block size {blockSize}, a power of two ≥ 16.");
        }

        if (weight.Length != (long)k * n)
        {
            throw new ArgumentException($"weight has {weight.Length} values, not {k} × {n}.");
        }

        int blocks = k / blockSize;
        int blobBytes = blockSize * bits / 8;
        var packed = new byte[(long)n * blocks * blobBytes];
        var scales = new float[(long)n * blocks];
        float mid = 1 << (bits - 1);
        float max = (1 << bits) - 1;
        var source = weight.ToArray();
        Parallel.For(0, n, column =>
        {
            Span<float> block = stackalloc float[blockSize];
            for (int b = 0; b < blocks; b++)
            {
                float lo = float.MaxValue;
                float hi = -float.MaxValue;
                for (int i = 0; i < blockSize; i++)
                {
                    float v = source[(long)(b * blockSize + i) * n + column];
                    block[i] = v;
                    lo = MathF.Min(lo, v);
                    hi = MathF.Max(hi, v);
                }

                float scale = (MathF.Abs(hi) > MathF.Abs(lo) ? hi : lo) / -mid;
                scales[(long)column * blocks + b] = scale;
                float reciprocal = scale != 0 ? 1f / scale : 0f;
                long at = ((long)column * blocks + b) * blobBytes;
                for (int i = 0; i < blockSize; i++)
                {
                    byte level = (byte)Math.Clamp(MathF.Round(block[i] * reciprocal + mid, MidpointRounding.AwayFromZero), 0f, max);
                    if (bits == 8)
                    {
                        packed[at + i] = level;
                    }
                    else
                    {
                        packed[at + i / 2] |= (byte)(i % 2 == 0 ? level : level << 4);
                    }
                }
            }
        });
        return (packed, scales);
    }

    /// <summary>The row-major [k, n] weight that <see cref="QuantizeBlockwise"/>'s output stands for.</summary>
    public static float[] DequantizeBlockwise(ReadOnlySpan<byte> packed, ReadOnlySpan<float> scales, int k, int n, int bits, int blockSize)
    {
        int blocks = k / blockSize;
        int blobBytes = blockSize * bits / 8;
        int mid = 1 << (bits - 1);
        var result = new float[(long)k * n];
        for (int column = 0; column < n; column++)
        {
            for (int b = 0; b < blocks; b++)
            {
                float scale = scales[column * blocks + b];
                int at = (column * blocks + b) * blobBytes;
                for (int i = 0; i < blockSize; i++)
                {
                    int level = bits == 8 ? packed[at + i] : (i % 2 == 0 ? packed[at + i / 2] & 0xF : packed[at + i / 2] >> 4);
                    result[(long)(b * blockSize + i) * n + column] = (level - mid) * scale;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Per-tensor 8-bit quantisation of a weight for MatMulInteger, as ONNX Runtime's quantize_dynamic does it:
    /// uint8 asymmetric over [min(w, 0), max(w, 0)] (scale = range / 255, zero point = round(−min / scale)), or int8
    /// symmetric (scale = max|w| / 127, zero point 0); values rounded half to even, as numpy does.
    /// </summary>
    public static (byte[] Levels, float Scale, byte ZeroPoint) QuantizePerTensor(ReadOnlySpan<float> weight, bool signed)
    {
        float lo = 0;
        float hi = 0;
        foreach (var v in weight)
        {
            lo = MathF.Min(lo, v);
            hi = MathF.Max(hi, v);
        }

        float scale;
        int zeroPoint;
        int qMin;
        int qMax;
        if (signed)
        {
            float absMax = MathF.Max(-lo, hi);
            scale = absMax > 0 ? absMax / 127f : 1f;
            (zeroPoint, qMin, qMax) = (0, -127, 127);
        }
        else
        {
            scale = hi - lo > 0 ? (hi - lo) / 255f : 1f;
            zeroPoint = (int)Math.Clamp(MathF.Round(-lo / scale, MidpointRounding.ToEven), 0f, 255f);
            (qMin, qMax) = (0, 255);
        }

        var levels = new byte[weight.Length];
        for (int i = 0; i < weight.Length; i++)
        {
            int q = (int)Math.Clamp(MathF.Round(weight[i] / scale, MidpointRounding.ToEven) + zeroPoint, qMin, qMax);
            levels[i] = unchecked((byte)q);
        }

        return (levels, scale, unchecked((byte)zeroPoint));
    }

    /// <summary>The weight that <see cref="QuantizePerTensor"/>'s output stands for.</summary>
    public static float[] DequantizePerTensor(ReadOnlySpan<byte> levels, float scale, byte zeroPoint, bool signed)
    {
        var result = new float[levels.Length];
        for (int i = 0; i < levels.Length; i++)
        {
            int q = signed ? (sbyte)levels[i] : levels[i];
            int z = signed ? (sbyte)zeroPoint : zeroPoint;
            result[i] = (q - z) * scale;
        }

        return result;
    }

    internal static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float
            || tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new NotSupportedException($"tensor '{tensor.Name}' is not float32 stored in the model file");
        }

        return tensor.FloatData.Count > 0 ? [.. tensor.FloatData] : MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
    }
}
