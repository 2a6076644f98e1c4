using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServerlessInference.Translation.Decoding;

namespace ServerlessInference.Translation;

/// <summary>
/// Greedy and beam search over <see cref="MarianOnnxModel"/> with the key/value cache kept in ONNX Runtime's own
/// buffers: each step's present.* outputs are fed back as past_key_values.* without passing through managed arrays.
/// Semantics follow transformers' generate: decoding starts from the decoder start token, the bad-words ids (pad)
/// are never emitted, eos is forced at the length limit, and every sequence of a batch finishes on its own.
/// Finished sequences leave the batch (their cache rows are dropped) so they cost nothing further.
/// </summary>
internal sealed class MarianGenerator(MarianOnnxModel model)
{
    private readonly GenerationDefaults _defaults = model.Folder.Generation;

    /// <summary>Generated ids for each source (eos included, start token excluded), in input order.</summary>
    public int[][] Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, InferenceCall call)
    {
        if (sources.Count == 0)
        {
            return [];
        }

        int beams = settings.Beams;
        int batch = sources.Count;
        int srcLen = sources.Max(s => s.Length);
        var (ids, mask) = Padded(sources, Enumerable.Range(0, batch).ToArray(), srcLen);
        var hidden = Encode(sources, ids, mask, srcLen, call);

        // Each beam is a row of its own: rows b*beams .. b*beams+beams-1 belong to source b.
        var rowMask = beams == 1 ? mask : RepeatRows(mask, srcLen, beams);
        if (beams > 1)
        {
            using var single = hidden;
            hidden = GatherRows<float>(single, Enumerable.Range(0, batch * beams).Select(r => r / beams).ToArray());
        }

        var rules = DecodingRules.For(_defaults, settings);
        var search = beams == 1
            ? (ISearch)new GreedySearch(batch, _defaults, rules)
            : new BeamSearch(batch, settings, _defaults, rules);
        using var state = new DecodeState(hidden, rowMask, srcLen);
        int maxNew = settings.MaxNewTokens;
        var tokens = search.StartTokens();
        using var useCacheFalse = model.IsMerged ? OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]) : null;
        using var useCacheTrue = model.IsMerged ? OrtValue.CreateTensorValueFromMemory(new[] { true }, [1]) : null;
        for (int step = 0; step < maxNew && tokens.Length > 0; step++)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(tokens, [tokens.Length, 1]);
            DecoderStep output;
            if (step == 0)
            {
                using var emptyPast = model.IsMerged
                    ? OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
                        [tokens.Length, model.Folder.DecoderHeads, 0, model.Folder.HeadDim])
                    : null;
                output = model.DecodeFirst(input, state.MaskValue, state.Hidden, emptyPast, useCacheFalse, call);
                state.EncoderKv = output.EncoderKv;
            }
            else
            {
                output = model.DecodeNext(input, state.MaskValue, state.Hidden, state.DecoderKv!, state.EncoderKv!,
                    useCacheTrue, call);
            }

            state.ReplaceDecoderKv(output.DecoderKv);
            using (output.Output)
            {
                using var scores = Score(output.Output, beams, call);
                var keep = search.Step(scores, step);
                if (keep is not null)
                {
                    state.Keep(keep);
                }
            }

            tokens = search.NextTokens();
        }

        return search.Results();
    }

    /// <summary>Input ids and attention mask of the given sources, padded to <paramref name="length"/>.</summary>
    private (long[] Ids, long[] Mask) Padded(IReadOnlyList<int[]> sources, int[] rows, int length)
    {
        var ids = new long[rows.Length * length];
        var mask = new long[rows.Length * length];
        Array.Fill(ids, _defaults.PadTokenId);
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

    /// <summary>What the search reads for this step: the decoder's logits, or, with a split-off projection, float32
    /// logits from it (beam search) or its approximate scores plus the hidden states (greedy).</summary>
    private StepScores Score(OrtValue decoderOutput, int beams, InferenceCall call)
    {
        if (model.Projection is not { } projection)
        {
            return new StepScores(decoderOutput, model.Folder.VocabSize, owned: false);
        }

        using (call.Timer.Measure())
        {
            return beams == 1 && projection.HasApproximate
                ? new StepScores(projection, decoderOutput, projection.ApproximateScores(decoderOutput, call.Options))
                : new StepScores(projection.Logits(decoderOutput, call.Options), model.Folder.VocabSize, owned: true);
        }
    }

    private static long[] RepeatRows(long[] source, int rowLength, int times)
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

    /// <summary>The per-row tensors of a running batch; rows are dropped or reordered as the search asks.</summary>
    private sealed class DecodeState(OrtValue hidden, long[] mask, int srcLen) : IDisposable
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
    }
}
