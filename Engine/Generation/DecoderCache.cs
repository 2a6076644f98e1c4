using System.Buffers;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Generation;

/// <summary>The per-row tensors of a running batch, the key/value cache kept in ONNX Runtime's own buffers (each
/// step's present.* outputs are fed back as past_key_values.* without passing through managed arrays); rows are
/// dropped or reordered as the search asks.</summary>
internal sealed class DecoderCache(OrtValue hidden, long[] mask, int srcLen) : IDisposable
{
    private long[] _mask = mask;
    public OrtValue Hidden { get; private set; } = hidden;
    public OrtValue MaskValue { get; private set; } = OrtValue.CreateTensorValueFromMemory(mask, [mask.Length / srcLen, srcLen]);
    public OrtValue[]? DecoderKv { get; private set; }
    public OrtValue[]? EncoderKv { get; set; }

    public void ReplaceDecoderKv(OrtValue[] kv)
    {
        DisposeAll(DecoderKv);
        DecoderKv = kv;
    }

    /// <summary>Keep only <paramref name="rows"/>, in that order (beam reordering and finished rows leaving).</summary>
    public void Keep(int[] rows)
    {
        bool identity = rows.Length == _mask.Length / srcLen && rows.Select((r, i) => r == i).All(x => x);
        if (identity || rows.Length == 0) // nothing changes, or nothing runs any more
        {
            return;
        }

        // Beam reordering only permutes beams within a source, whose encoder rows are identical: the self-attention
        // cache is reordered where it lies, and the encoder-side tensors need to change only when rows leave.
        if (rows.Length == _mask.Length / srcLen)
        {
            Parallel.ForEach(DecoderKv!, value => PermuteRowsInPlace<float>(value, rows));
            return;
        }

        DecoderKv = Gather(DecoderKv!, rows);
        EncoderKv = Gather(EncoderKv!, rows);
        var hidden = GatherRows<float>(Hidden, rows);
        Hidden.Dispose();
        Hidden = hidden;
        var mask = new long[rows.Length * srcLen];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(_mask, rows[i] * srcLen, mask, i * srcLen, srcLen);
        }

        _mask = mask;
        MaskValue.Dispose();
        MaskValue = OrtValue.CreateTensorValueFromMemory(mask, [rows.Length, srcLen]);
    }

    private static OrtValue[] Gather(OrtValue[] values, int[] rows)
    {
        // One cache tensor per layer and kind: independent copies, spread over the cores.
        var result = new OrtValue[values.Length];
        Parallel.For(0, values.Length, i =>
        {
            result[i] = GatherRows<float>(values[i], rows);
            values[i].Dispose();
        });

        return result;
    }

    private static void DisposeAll(OrtValue[]? values)
    {
        if (values is null)
        {
            return;
        }

        foreach (var v in values)
        {
            v.Dispose();
        }
    }

    public void Dispose()
    {
        Hidden.Dispose();
        MaskValue.Dispose();
        DisposeAll(DecoderKv);
        DisposeAll(EncoderKv);
    }

    /// <summary>A new tensor made of the given rows (first dimension) of <paramref name="source"/>: one native
    /// memory copy per row, used to expand the encoder output to beams and to drop finished sequences.</summary>
    internal static OrtValue GatherRows<T>(OrtValue source, int[] rows) where T : unmanaged
    {
        var info = source.GetTensorTypeAndShape();
        var shape = info.Shape;
        long rowSize = info.ElementCount / shape[0];
        shape[0] = rows.Length;
        var result = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, info.ElementDataType, shape);
        var from = source.GetTensorDataAsSpan<T>();
        var to = result.GetTensorMutableDataAsSpan<T>();
        for (int i = 0; i < rows.Length; i++)
        {
            from.Slice((int)(rows[i] * rowSize), (int)rowSize).CopyTo(to.Slice((int)(i * rowSize), (int)rowSize));
        }

        return result;
    }

    /// <summary>
    /// Row i of <paramref name="value"/> becomes its former row rows[i] (a beam reorder: same row count, a row may be
    /// taken twice). Most beams stay where they are, so only rows that change are written, and only the source rows
    /// that are themselves overwritten are saved first.
    /// </summary>
    internal static void PermuteRowsInPlace<T>(OrtValue value, int[] rows) where T : unmanaged
    {
        var data = value.GetTensorMutableDataAsSpan<T>();
        int rowSize = data.Length / rows.Length;
        var slot = new int[rows.Length];
        Array.Fill(slot, -1);
        int saved = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            int source = rows[i];
            if (source != i && rows[source] != source && slot[source] < 0)
            {
                slot[source] = saved++;
            }
        }

        var buffer = saved > 0 ? ArrayPool<T>.Shared.Rent(saved * rowSize) : [];
        try
        {
            for (int source = 0; source < rows.Length; source++)
            {
                if (slot[source] >= 0)
                {
                    data.Slice(source * rowSize, rowSize).CopyTo(buffer.AsSpan(slot[source] * rowSize, rowSize));
                }
            }

            for (int i = 0; i < rows.Length; i++)
            {
                int source = rows[i];
                if (source != i)
                {
                    var from = slot[source] >= 0
                        ? buffer.AsSpan(slot[source] * rowSize, rowSize)
                        : data.Slice(source * rowSize, rowSize);
                    from.CopyTo(data.Slice(i * rowSize, rowSize));
                }
            }
        }
        finally
        {
            if (saved > 0)
            {
                ArrayPool<T>.Shared.Return(buffer);
            }
        }
    }
}
