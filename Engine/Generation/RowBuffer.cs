using System.Buffers;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Engine.Generation;

/// <summary>
/// A tensor of per-row data (rows on the first axis) whose rows are reordered and dropped where they lie: the kept
/// rows are moved to the front of the buffer and the tensor handed to ONNX Runtime is a view of those rows. A finished
/// sequence leaving a batch then moves only the rows behind it instead of copying the whole cache into a new
/// allocation (the cost of a step in a batch that rows leave at every step: continuous batching).
/// </summary>
internal sealed class RowBuffer : IDisposable
{
    private readonly OrtValue _owner;
    private OrtValue? _view;
    private readonly long[] _shape;
    private readonly int _rowSize;

    /// <param name="owner">The tensor; the buffer owns it from here on.</param>
    public RowBuffer(OrtValue owner)
    {
        _owner = owner;
        var info = owner.GetTensorTypeAndShape();
        if (info.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
        {
            throw new ArgumentException("Row buffers hold float32 tensors.", nameof(owner));
        }

        _shape = info.Shape;
        Rows = (int)_shape[0];
        _rowSize = Rows == 0 ? 0 : (int)(info.ElementCount / Rows);
    }

    /// <summary>The rows in use, as a tensor.</summary>
    public OrtValue Value => _view ?? _owner;

    public int Rows { get; private set; }

    /// <summary>Row i becomes the former row rows[i]; rows past rows.Length are dropped (a row may be taken twice).</summary>
    public void Keep(int[] rows)
    {
        var data = _owner.GetTensorMutableDataAsSpan<float>()[..(Rows * _rowSize)];
        MoveRows(data, _rowSize, rows);
        if (rows.Length != Rows)
        {
            Rows = rows.Length;
            _view?.Dispose();
            _view = null;
            if (Rows != _shape[0])
            {
                var shape = (long[])_shape.Clone();
                shape[0] = Rows;
                unsafe
                {
                    fixed (float* start = _owner.GetTensorMutableDataAsSpan<float>())
                    {
                        _view = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance,
                            Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, shape, (nint)start,
                            (long)Rows * _rowSize * sizeof(float));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Rows of <paramref name="rowSize"/> values: row i becomes the former row rows[i] (a row may be taken twice; rows
    /// past rows.Length are left as they are). Rows that stay where they are are not written, and only the source rows
    /// that are themselves overwritten are saved first.
    /// </summary>
    internal static void MoveRows<T>(Span<T> data, int rowSize, int[] rows) where T : unmanaged
    {
        var slot = new int[data.Length / Math.Max(rowSize, 1)];
        Array.Fill(slot, -1);
        int saved = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            int source = rows[i];
            if (source != i && source < rows.Length && rows[source] != source && slot[source] < 0)
            {
                slot[source] = saved++;
            }
        }

        var buffer = saved > 0 ? ArrayPool<T>.Shared.Rent(saved * rowSize) : [];
        try
        {
            for (int source = 0; source < slot.Length; source++)
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

    public void Dispose()
    {
        _view?.Dispose();
        _owner.Dispose();
    }
}
