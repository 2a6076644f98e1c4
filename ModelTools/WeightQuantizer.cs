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
    /// symmetric (scale = max|w| / 127, zero point 0); values rounded half to even, as numpy does. With
    /// <paramref name="reduceRange"/> (quantize_dynamic's reduce_range, 7-bit weights for CPUs without VNNI, where
    /// u8·s8 products summed in pairs could overflow int16) the ranges are [0, 127] and [−64, 64], as ONNX Runtime's
    /// get_qmin_qmax_for_qType gives them.
    /// </summary>
    public static (byte[] Levels, float Scale, byte ZeroPoint) QuantizePerTensor(ReadOnlySpan<float> weight, bool signed,
        bool reduceRange = false)
    {
        float lo = 0;
        float hi = 0;
        foreach (var v in weight)
        {
            lo = MathF.Min(lo, v);
            hi = MathF.Max(hi, v);
        }

        var (scale, zeroPoint, qMin, qMax) = Parameters(lo, hi, signed, reduceRange);
        var levels = new byte[weight.Length];
        for (int i = 0; i < weight.Length; i++)
        {
            levels[i] = Level(weight[i], scale, zeroPoint, qMin, qMax);
        }

        return (levels, scale, unchecked((byte)zeroPoint));
    }

    /// <summary>
    /// Per-channel 8-bit quantisation of a row-major [k, n] MatMul weight, one scale and zero point per output column
    /// (ONNX Runtime's quantize_weight_per_channel on axis 1, as quantize_dynamic with per_channel writes it for
    /// MatMulInteger): each column as <see cref="QuantizePerTensor"/> quantizes a tensor. Levels stay [k, n].
    /// </summary>
    public static (byte[] Levels, float[] Scales, byte[] ZeroPoints) QuantizePerColumn(ReadOnlySpan<float> weight, int k, int n,
        bool signed, bool reduceRange)
    {
        if (weight.Length != (long)k * n)
        {
            throw new ArgumentException($"weight has {weight.Length} values, not {k} × {n}.");
        }

        var levels = new byte[weight.Length];
        var scales = new float[n];
        var zeroPoints = new byte[n];
        for (int column = 0; column < n; column++)
        {
            float lo = 0;
            float hi = 0;
            for (int row = 0; row < k; row++)
            {
                float v = weight[row * n + column];
                lo = MathF.Min(lo, v);
                hi = MathF.Max(hi, v);
            }

            var (scale, zeroPoint, qMin, qMax) = Parameters(lo, hi, signed, reduceRange);
            scales[column] = scale;
            zeroPoints[column] = unchecked((byte)zeroPoint);
            for (int row = 0; row < k; row++)
            {
                levels[row * n + column] = Level(weight[row * n + column], scale, zeroPoint, qMin, qMax);
            }
        }

        return (levels, scales, zeroPoints);
    }

    private static (float Scale, int ZeroPoint, int QMin, int QMax) Parameters(float lo, float hi, bool signed, bool reduceRange)
    {
        if (signed)
        {
            int qMax = reduceRange ? 64 : 127;
            float absMax = MathF.Max(-lo, hi);
            return (absMax > 0 ? absMax / qMax : 1f, 0, -qMax, qMax);
        }

        int top = reduceRange ? 127 : 255;
        float scale = hi - lo > 0 ? (hi - lo) / top : 1f;
        int zeroPoint = (int)Math.Clamp(MathF.Round(-lo / scale, MidpointRounding.ToEven), 0f, top);
        return (scale, zeroPoint, 0, top);
    }

    private static byte Level(float v, float scale, int zeroPoint, int qMin, int qMax) =>
        unchecked((byte)(int)Math.Clamp(MathF.Round(v / scale, MidpointRounding.ToEven) + zeroPoint, qMin, qMax));

    /// <summary>NF4 and FP4, MatMulBnb4's quant_type values (ONNX Runtime's Bnb_DataType_t).</summary>
    public const int Fp4 = 0;
    public const int Nf4 = 1;

    /// <summary>
    /// MatMulBnb4's blockwise 4-bit quantisation of a row-major [k, n] weight, as ONNX Runtime's quantize_matmul_bnb4
    /// (blockwise_quant_block_bnb4.h) does it: the weight transposed to [n, k] and flattened, cut into blocks of
    /// <paramref name="blockSize"/> values, each scaled by its largest magnitude (absmax) and every value mapped to the
    /// nearest NF4 or FP4 code by that file's decision tree; two codes per byte, the first in the high nibble.
    /// </summary>
    public static (byte[] Packed, float[] AbsMax) QuantizeBnb4(ReadOnlySpan<float> weight, int k, int n, int blockSize, int quantType)
    {
        if (weight.Length != (long)k * n)
        {
            throw new ArgumentException($"weight has {weight.Length} values, not {k} × {n}.");
        }

        int count = k * n;
        var transposed = new float[count];
        for (int row = 0; row < k; row++)
        {
            for (int column = 0; column < n; column++)
            {
                transposed[column * k + row] = weight[row * n + column];
            }
        }

        int blocks = (count + blockSize - 1) / blockSize;
        var packed = new byte[(count + 1) / 2];
        var absMax = new float[blocks];
        for (int b = 0; b < blocks; b++)
        {
            int start = b * blockSize;
            int length = Math.Min(blockSize, count - start);
            float max = 0f;
            for (int i = 0; i < length; i++)
            {
                max = MathF.Max(max, MathF.Abs(transposed[start + i]));
            }

            absMax[b] = max;
            float reciprocal = max != 0f ? 1f / max : 0f;
            for (int i = 0; i < length; i += 2)
            {
                byte high = Bnb4Code(transposed[start + i] * reciprocal, quantType);
                byte low = Bnb4Code(i + 1 < length ? transposed[start + i + 1] * reciprocal : 0f, quantType);
                packed[(start + i) / 2] = (byte)((high << 4) | low);
            }
        }

        return (packed, absMax);
    }

    /// <summary>The code of a value in [−1, 1]: ONNX Runtime's QuantizeOneNF4 / QuantizeOneFP4 decision trees (the
    /// thresholds are midpoints between neighbouring codes).</summary>
    internal static byte Bnb4Code(float x, int quantType)
    {
        if (quantType == Fp4)
        {
            byte sign = x < 0 ? (byte)0b1000 : (byte)0;
            x = MathF.Abs(x);
            byte code = x > 0.29166667f
                ? (x > 0.583333f ? (x > 0.8333333f ? (byte)0b0011 : (byte)0b0010) : x > 0.4166667f ? (byte)0b101 : (byte)0b100)
                : x > 0.0859375f ? (x > 0.20833333f ? (byte)0b0111 : (byte)0b0110)
                : x > 0.00260417f ? (byte)0b0001 : (byte)0b0000;
            return (byte)(code + sign);
        }

        if (x > 0.03979014977812767f)
        {
            return x > 0.3893125355243683f
                ? (x > 0.6427869200706482f ? (x > 0.8614784181118011f ? (byte)0b1111 : (byte)0b1110)
                    : x > 0.5016634166240692f ? (byte)0b1101 : (byte)0b1100)
                : x > 0.2035212516784668f ? (x > 0.2920137718319893f ? (byte)0b1011 : (byte)0b1010)
                : x > 0.1202552504837513f ? (byte)0b1001 : (byte)0b1000;
        }

        return x > -0.33967943489551544f
            ? (x > -0.13791173323988914f ? (x > -0.045525018125772476f ? (byte)0b0111 : (byte)0b0110)
                : x > -0.23460740596055984f ? (byte)0b0101 : (byte)0b0100)
            : x > -0.6106329262256622f ? (x > -0.4599952697753906f ? (byte)0b0011 : (byte)0b0010)
            : x > -0.8480964004993439f ? (byte)0b0001 : (byte)0b0000;
    }

    /// <summary>NF4's code values (ONNX Runtime's nf4_qaunt_map), for the dequantisation tests.</summary>
    internal static readonly float[] Nf4Values =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
        -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
        0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

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

    /// <summary>FP4's code values (ONNX Runtime's fp4_qaunt_map).</summary>
    internal static readonly float[] Fp4Values =
    [
        0.00000000f, 5.208333333e-03f, 0.66666667f, 1.00000000f, 0.33333333f, 0.50000000f, 0.16666667f, 0.25000000f,
        -0.00000000f, -5.208333333e-03f, -0.66666667f, -1.00000000f, -0.33333333f, -0.50000000f, -0.16666667f, -0.25000000f,
    ];

    /// <summary>The row-major [k, n] weight that <see cref="QuantizeBnb4"/>'s output stands for (MatMulBnb4's
    /// DequantizeBlockBnb4).</summary>
    public static float[] DequantizeBnb4(ReadOnlySpan<byte> packed, ReadOnlySpan<float> absMax, int k, int n, int blockSize,
        int quantType)
    {
        var codes = quantType == Fp4 ? Fp4Values : Nf4Values;
        var result = new float[k * n];
        for (int i = 0; i < k * n; i++)
        {
            int code = i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0xF;
            // i runs over the transposed [n, k] weight.
            result[(i % k) * n + i / k] = codes[code] * absMax[i / blockSize];
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
