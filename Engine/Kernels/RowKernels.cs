using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ServerlessInference.Engine.Kernels;

/// <summary>Row kernels of the searches: argmax with suppressed ids, and the parts of a log-softmax.</summary>
internal static class RowKernels
{
    /// <summary>The first index of the largest allowed logit, as a scalar argmax that skips banned ids returns it.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits, IReadOnlyList<int> banned)
    {
        // The row's maximum is found with SIMD; only if it sits on a banned id does the scalar scan run.
        int first = logits.IndexOf(Max(logits));
        if (first >= 0 && !IsBanned(banned, first))
        {
            return first;
        }

        int best = -1;
        float bestValue = float.NegativeInfinity;
        for (int v = 0; v < logits.Length; v++)
        {
            if (logits[v] > bestValue && !IsBanned(banned, v))
            {
                bestValue = logits[v];
                best = v;
            }
        }

        return best < 0 ? 0 : best;
    }

    public static bool IsBanned(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The largest value of a row (NaN-free logits). Its own loop rather than TensorPrimitives.Max, which
    /// pays for propagating NaN on every row of every step (measured: bench/results/engine-notes.md).</summary>
    public static float Max(ReadOnlySpan<float> values)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            var vmax = Vector256.Create(float.NegativeInfinity);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                vmax = Vector256.Max(vmax, Vector256.LoadUnsafe(ref start, (nuint)i));
            }

            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = Math.Max(max, vmax[lane]);
            }
        }

        for (; i < values.Length; i++)
        {
            max = Math.Max(max, values[i]);
        }

        return max;
    }

    /// <summary>The max and log(sum(exp(x - max))) of a row, so that log_softmax(x) = x - max - logSum; the sum is
    /// kept in double so row length does not cost precision. Beam search reads every logit of every row through
    /// this each step, so it is vectorised (Vector256.Exp, within 1 ulp of MathF.Exp).</summary>
    public static (float Max, float LogSum) LogSumExpParts(ReadOnlySpan<float> logits)
    {
        float max = Max(logits);
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && logits.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(logits);
            var vmax = Vector256.Create(max);
            var acc = Vector256<double>.Zero;
            for (; i <= logits.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Exp(Vector256.LoadUnsafe(ref start, (nuint)i) - vmax));
                acc += lower + upper;
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < logits.Length; i++)
        {
            sum += MathF.Exp(logits[i] - max);
        }

        return (max, (float)Math.Log(sum));
    }
}
