using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ServerlessInference.Engine.Kernels;

/// <summary>The descending top-k candidate list beam search keeps per source, and the vectorised scan that fills
/// it from a row of logits.</summary>
internal static class TopK
{
    /// <summary>
    /// Adds the (score, offset + v) candidates of one row to a descending top-k list, score = beamScore + (row[v] -
    /// max - logSum) in float32 exactly as a scalar loop computes it. Eight scores are computed and compared at once;
    /// only lanes that beat the list's current last entry go through the (rare) insertion.
    /// </summary>
    public static int Scan(ReadOnlySpan<float> row, float beamScore, float max, float logSum,
        IReadOnlyList<int> banned, int offset, Span<float> scores, Span<int> ids, int filled)
    {
        int k = scores.Length;
        int v = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float start = ref MemoryMarshal.GetReference(row);
            var vBeam = Vector256.Create(beamScore);
            var vMax = Vector256.Create(max);
            var vLogSum = Vector256.Create(logSum);
            for (; v <= row.Length - Vector256<float>.Count; v += Vector256<float>.Count)
            {
                var score = vBeam + (Vector256.LoadUnsafe(ref start, (nuint)v) - vMax - vLogSum);
                uint lanes = filled < k
                    ? 0xFFu
                    : Vector256.GreaterThan(score, Vector256.Create(scores[k - 1])).ExtractMostSignificantBits();
                while (lanes != 0)
                {
                    int lane = System.Numerics.BitOperations.TrailingZeroCount(lanes);
                    lanes &= lanes - 1;
                    if (!RowKernels.IsBanned(banned, v + lane))
                    {
                        filled = Insert(scores, ids, filled, score[lane], offset + v + lane);
                    }
                }
            }
        }

        for (; v < row.Length; v++)
        {
            float score = beamScore + (row[v] - max - logSum);
            if (filled == k && !(score > scores[k - 1]))
            {
                continue;
            }

            if (!RowKernels.IsBanned(banned, v))
            {
                filled = Insert(scores, ids, filled, score, offset + v);
            }
        }

        return filled;
    }

    /// <summary>Inserts (score, id) into a descending top-k list of capacity scores.Length; returns the new count.
    /// Equal scores keep the earlier id first, as a stable top-k does.</summary>
    public static int Insert(Span<float> scores, Span<int> ids, int count, float score, int id)
    {
        int capacity = scores.Length;
        if (count == capacity && !(score > scores[capacity - 1]))
        {
            return count;
        }

        int pos = count == capacity ? capacity - 1 : count;
        while (pos > 0 && score > scores[pos - 1])
        {
            if (pos < capacity)
            {
                scores[pos] = scores[pos - 1];
                ids[pos] = ids[pos - 1];
            }

            pos--;
        }

        scores[pos] = score;
        ids[pos] = id;
        return Math.Min(count + 1, capacity);
    }
}
