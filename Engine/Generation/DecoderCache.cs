using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Generation;

/// <summary>The per-row tensors of a running batch, the key/value cache kept in ONNX Runtime's own buffers (each
/// step's present.* outputs are fed back as past_key_values.* without passing through managed arrays); rows are
/// dropped or reordered as the search asks, and rows of another batch can join (continuous batching).
/// <para>Each row knows its position: how many tokens its self-attention cache holds, in slots 0.. of the cache's
/// time axis. Rows that started together share it; a row that joined later holds fewer, the slots after them unused
/// (the decoder reads each row's position, see <see cref="Sessions.DecoderRowPositions"/>).</para></summary>
internal sealed class DecoderCache : IDisposable
{
    /// <summary>Unused cache slots (after every row's position) tolerated before the cache is cut back: cutting copies
    /// the whole cache, so it waits until the slots cost more than the copy.</summary>
    private const int TrimSlack = 16;

    private long[] _mask;
    private int _srcLen;
    private long[] _positions;
    private RowBuffer _hidden;
    private RowBuffer[]? _decoderKv;
    private RowBuffer[]? _encoderKv;

    /// <param name="hidden">The encoder output of these rows; the cache owns it.</param>
    public DecoderCache(OrtValue hidden, long[] mask, int srcLen)
    {
        _mask = mask;
        _srcLen = srcLen;
        _positions = new long[mask.Length / srcLen];
        _hidden = new RowBuffer(hidden);
        MaskValue = OrtValue.CreateTensorValueFromMemory(mask, [mask.Length / srcLen, srcLen]);
    }

    public OrtValue Hidden => _hidden.Value;
    public OrtValue MaskValue { get; private set; }
    public OrtValue[]? DecoderKv => _decoderKv?.Select(b => b.Value).ToArray();

    /// <summary>The cross-attention cache; set once, from the first step's outputs (the cache owns them).</summary>
    public OrtValue[]? EncoderKv
    {
        get => _encoderKv?.Select(b => b.Value).ToArray();
        set
        {
            DisposeAll(_encoderKv);
            _encoderKv = value?.Select(v => new RowBuffer(v)).ToArray();
        }
    }

    public int Rows => _positions.Length;

    /// <summary>Each row's position ([rows], the slot its next token's key and value go to).</summary>
    public long[] Positions => _positions;

    /// <summary>Takes a step's self-attention cache (the cache owns it): every row now holds one token more.</summary>
    public void ReplaceDecoderKv(OrtValue[] kv)
    {
        DisposeAll(_decoderKv);
        _decoderKv = kv.Select(v => new RowBuffer(v)).ToArray();
        for (int r = 0; r < _positions.Length; r++)
        {
            _positions[r]++;
        }
    }

    /// <summary>Keep only <paramref name="rows"/>, in that order (beam reordering and finished rows leaving).</summary>
    public void Keep(int[] rows)
    {
        bool identity = rows.Length == Rows && rows.Select((r, i) => r == i).All(x => x);
        if (identity || rows.Length == 0) // nothing changes, or nothing runs any more
        {
            return;
        }

        bool leaving = rows.Length != Rows;
        _positions = rows.Select(r => _positions[r]).ToArray();
        // Beam reordering only permutes beams within a source, whose encoder rows are identical: the encoder-side
        // tensors need to change only when rows leave. One thread: the moves take microseconds to a millisecond, and
        // handing them to the thread pool cost more than that on a busy machine (beam-profile-2026-12-02.md).
        foreach (var buffer in leaving ? [.. _decoderKv!, .. _encoderKv!, _hidden] : _decoderKv!)
        {
            buffer.Keep(rows);
        }
        if (!leaving)
        {
            return;
        }

        var mask = new long[rows.Length * _srcLen];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(_mask, rows[i] * _srcLen, mask, i * _srcLen, _srcLen);
        }

        SetMask(mask);
        TrimUnusedSlots();
    }

    /// <summary>A new cache (before any step) whose row i is this cache's row rows[i]: a source's row repeated for its
    /// beams.</summary>
    public DecoderCache Repeated(int[] rows)
    {
        var mask = new long[rows.Length * _srcLen];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(_mask, rows[i] * _srcLen, mask, i * _srcLen, _srcLen);
        }

        return new DecoderCache(GatherRows<float>(Hidden, rows), mask, _srcLen);
    }

    /// <summary>
    /// Appends <paramref name="joining"/>'s rows (sources that took their first step by themselves) after this cache's
    /// rows, and disposes it. Both caches' source axes are padded to the longer (the mask hides the padding, as in
    /// any batch of different lengths), and the joining rows' self-attention slots are padded to this cache's slots.
    /// </summary>
    public void Append(DecoderCache joining)
    {
        using (joining)
        {
            int srcLen = Math.Max(_srcLen, joining._srcLen);
            long slots = Math.Max(Slots(DecoderKv!), Slots(joining.DecoderKv!));
            _decoderKv = Concat(_decoderKv!, joining._decoderKv!, axis: 2, slots);
            _encoderKv = Concat(_encoderKv!, joining._encoderKv!, axis: 2, srcLen);
            (joining._decoderKv, joining._encoderKv) = (null, null); // disposed by Concat
            var hidden = new RowBuffer(ConcatPadded([Hidden, joining.Hidden], 1, srcLen));
            _hidden.Dispose();
            _hidden = hidden;
            var mask = new long[(Rows + joining.Rows) * srcLen];
            for (int r = 0; r < Rows; r++)
            {
                Array.Copy(_mask, r * _srcLen, mask, r * srcLen, _srcLen);
            }

            for (int r = 0; r < joining.Rows; r++)
            {
                Array.Copy(joining._mask, r * joining._srcLen, mask, (Rows + r) * srcLen, joining._srcLen);
            }

            _srcLen = srcLen;
            SetMask(mask);
            _positions = [.. _positions, .. joining._positions];
        }
    }

    private void SetMask(long[] mask)
    {
        _mask = mask;
        MaskValue.Dispose();
        MaskValue = OrtValue.CreateTensorValueFromMemory(mask, [mask.Length / _srcLen, _srcLen]);
    }

    /// <summary>Cuts the self-attention cache back to the slots some row still uses, once enough are unused (the rows
    /// that held them have left): the decoder reads every slot of every row at every step.</summary>
    private void TrimUnusedSlots()
    {
        long used = _positions.Max();
        if (_decoderKv is null || Slots(DecoderKv!) - used < TrimSlack)
        {
            return;
        }

        var trimmed = _decoderKv.Select(b => new RowBuffer(Resized(b.Value, 2, used))).ToArray();
        DisposeAll(_decoderKv);
        _decoderKv = trimmed;
    }

    private static long Slots(OrtValue[] kv) => kv[0].GetTensorTypeAndShape().Shape[2];

    /// <summary>Each pair of tensors' rows concatenated, <paramref name="axis"/> resized to
    /// <paramref name="length"/>; the inputs are disposed.</summary>
    private static RowBuffer[] Concat(RowBuffer[] first, RowBuffer[] second, int axis, long length)
    {
        var result = new RowBuffer[first.Length];
        for (int i = 0; i < first.Length; i++)
        {
            result[i] = new RowBuffer(ConcatPadded([first[i].Value, second[i].Value], axis, length));
            first[i].Dispose();
            second[i].Dispose();
        }

        return result;
    }

    /// <summary>A new float32 tensor: <paramref name="source"/> cut or zero-padded (at the end) on
    /// <paramref name="axis"/> to <paramref name="length"/>.</summary>
    internal static OrtValue Resized(OrtValue source, int axis, long length) => ConcatPadded([source], axis, length);

    /// <summary>A new float32 tensor holding the rows (first axis) of each part in turn, each part cut or zero-padded
    /// (at the end) on <paramref name="axis"/> to <paramref name="length"/>; the parts' other axes must agree.</summary>
    internal static OrtValue ConcatPadded(IReadOnlyList<OrtValue> parts, int axis, long length)
    {
        var info = parts[0].GetTensorTypeAndShape();
        var shape = info.Shape;
        long blocksPerRow = shape.Skip(1).Take(axis - 1).Aggregate(1L, (a, b) => a * b);
        long inner = shape.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        shape[0] = parts.Sum(p => p.GetTensorTypeAndShape().Shape[0]);
        shape[axis] = length;
        var result = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, info.ElementDataType, shape);
        var output = result.GetTensorMutableDataAsSpan<float>();
        long block = 0;
        foreach (var part in parts)
        {
            var partShape = part.GetTensorTypeAndShape().Shape;
            var input = part.GetTensorDataAsSpan<float>();
            long from = partShape[axis];
            int kept = (int)(Math.Min(from, length) * inner);
            for (long b = 0; b < partShape[0] * blocksPerRow; b++, block++)
            {
                var to = output.Slice((int)(block * length * inner), (int)(length * inner));
                input.Slice((int)(b * from * inner), kept).CopyTo(to);
                to[kept..].Clear();
            }
        }

        return result;
    }

    private static void DisposeAll(RowBuffer[]? buffers)
    {
        foreach (var buffer in buffers ?? [])
        {
            buffer.Dispose();
        }
    }

    public void Dispose()
    {
        _hidden.Dispose();
        MaskValue.Dispose();
        DisposeAll(_decoderKv);
        DisposeAll(_encoderKv);
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

    /// <summary>Row i of <paramref name="value"/> becomes its former row rows[i] (a beam reorder: same row count, a row
    /// may be taken twice), in place (see <see cref="RowBuffer.MoveRows"/>).</summary>
    internal static void PermuteRowsInPlace<T>(OrtValue value, int[] rows) where T : unmanaged
    {
        var data = value.GetTensorMutableDataAsSpan<T>();
        RowBuffer.MoveRows(data, data.Length / rows.Length, rows);
    }
}
