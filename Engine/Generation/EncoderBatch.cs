using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Generation;

/// <summary>The encoder side of one generate call: the sources padded into one batch, encoded in runs of similar
/// length, and the attention mask the decoder reads.</summary>
internal sealed class EncoderBatch(MarianOnnxModel model)
{
    private readonly int _padTokenId = model.Folder.Generation.PadTokenId;

    /// <summary>Encodes <paramref name="sources"/>: the encoder output [batch, srcLen, hidden] (the caller owns it)
    /// and the attention mask, both padded to the longest source.</summary>
    public (OrtValue Hidden, long[] Mask, int SourceLength) Encode(IReadOnlyList<int[]> sources, InferenceCall call)
    {
        int srcLen = sources.Max(s => s.Length);
        var (ids, mask) = Padded(sources, Enumerable.Range(0, sources.Count).ToArray(), srcLen);
        return (Encode(sources, ids, mask, srcLen, call), mask, srcLen);
    }

    /// <summary>Input ids and attention mask of the given sources, padded to <paramref name="length"/>.</summary>
    private (long[] Ids, long[] Mask) Padded(IReadOnlyList<int[]> sources, int[] rows, int length)
    {
        var ids = new long[rows.Length * length];
        var mask = new long[rows.Length * length];
        Array.Fill(ids, _padTokenId);
        for (int r = 0; r < rows.Length; r++)
        {
            var source = sources[rows[r]];
            for (int t = 0; t < source.Length; t++)
            {
                ids[r * length + t] = source[t];
                mask[r * length + t] = 1;
            }
        }

        return (ids, mask);
    }

    /// <summary>
    /// Encoder outputs [batch, srcLen, hidden]. Padding costs the encoder as much as text does, and a call of
    /// mixed-length sentences is largely padding (bench/results/engine-notes.md), so rows of clearly different lengths
    /// are encoded in separate runs, each padded only to its own longest row, and assembled. Positions past a row's
    /// length are hidden from the decoder by the attention mask, so what they hold (a shorter run's padding, or
    /// zeros) changes nothing.
    /// </summary>
    /// <param name="ids">All rows padded to srcLen, used as they are when the lengths form one group.</param>
    private OrtValue Encode(IReadOnlyList<int[]> sources, long[] ids, long[] mask, int srcLen, InferenceCall call)
    {
        var buckets = LengthBuckets(sources);
        if (buckets.Count == 1)
        {
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [sources.Count, srcLen]);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [sources.Count, srcLen]);
            return model.Encode(idsValue, maskValue, call);
        }

        OrtValue? result = null;
        try
        {
            foreach (var rows in buckets)
            {
                int length = rows.Max(r => sources[r].Length);
                var (groupIds, groupMask) = Padded(sources, rows, length);
                using var idsValue = OrtValue.CreateTensorValueFromMemory(groupIds, [rows.Length, length]);
                using var maskValue = OrtValue.CreateTensorValueFromMemory(groupMask, [rows.Length, length]);
                using var part = model.Encode(idsValue, maskValue, call);
                var from = part.GetTensorDataAsSpan<float>();
                int hidden = from.Length / (rows.Length * length);
                result ??= OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
                    [sources.Count, srcLen, hidden]);
                var to = result.GetTensorMutableDataAsSpan<float>();
                for (int i = 0; i < rows.Length; i++)
                {
                    var row = to.Slice(rows[i] * srcLen * hidden, srcLen * hidden);
                    from.Slice(i * length * hidden, length * hidden).CopyTo(row);
                    row[(length * hidden)..].Clear();
                }
            }

            return result!;
        }
        catch
        {
            result?.Dispose();
            throw;
        }
    }

    /// <summary>Source rows grouped by length, shortest first: a group closes when the next row is 30% (and two
    /// tokens) longer than its shortest, unless it has fewer than four rows (an encoder run has a fixed cost too).</summary>
    internal static List<int[]> LengthBuckets(IReadOnlyList<int[]> sources)
    {
        var order = Enumerable.Range(0, sources.Count).OrderBy(r => sources[r].Length).ToArray();
        var buckets = new List<int[]>();
        var current = new List<int>();
        foreach (var r in order)
        {
            if (current.Count >= 4 && sources[r].Length > sources[current[0]].Length * 1.3 + 2)
            {
                buckets.Add([.. current]);
                current.Clear();
            }

            current.Add(r);
        }

        buckets.Add([.. current]);
        return buckets;
    }

    /// <summary>Each row of <paramref name="source"/> (rows of <paramref name="rowLength"/>) repeated
    /// <paramref name="times"/> times in place: the mask of a source for each of its beams.</summary>
    public static long[] RepeatRows(long[] source, int rowLength, int times)
    {
        int rows = source.Length / rowLength;
        var result = new long[source.Length * times];
        for (int r = 0; r < rows; r++)
        {
            for (int k = 0; k < times; k++)
            {
                Array.Copy(source, r * rowLength, result, (r * times + k) * rowLength, rowLength);
            }
        }

        return result;
    }
}
