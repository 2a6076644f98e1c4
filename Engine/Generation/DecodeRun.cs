using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServerlessInference.Engine.Generation.Decoding;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Generation;

/// <summary>
/// One running decode over <see cref="MarianOnnxModel"/>: greedy or beam search over the sources that have joined it,
/// one decoder step for all of them at a time. Semantics follow transformers' generate: decoding starts from the
/// decoder start token, generation_config.json's logits processors apply (<see cref="DecodingRules"/>), and every
/// source finishes on its own, at eos or at its length bound (<see cref="Guardrails"/>: the request's limit,
/// tightened by the source's length). Finished sources leave (their cache rows are dropped) so they cost nothing
/// further.
/// <para>Sources join between steps (continuous batching): they are encoded and take their first step by
/// themselves, then their rows are appended to the running cache at their own positions. That needs a decoder that
/// takes per-row positions (<see cref="MarianOnnxModel.RowPositions"/>); without one, sources join only an empty
/// run (<see cref="CanJoin"/>).</para>
/// </summary>
internal sealed class DecodeRun : IDisposable
{
    private readonly MarianOnnxModel _model;
    private readonly Guardrails _guards;
    private readonly GenerationSettings _settings;
    private readonly EncoderBatch _encoder;
    private readonly DecodingRules _rules;
    private readonly ISearch _search;
    private readonly OrtValue? _useCacheFalse;
    private readonly OrtValue? _useCacheTrue;
    private readonly List<int> _finished = [];
    private DecoderCache? _cache;
    private int[] _running = [];
    private long[] _next = [];

    public DecodeRun(MarianOnnxModel model, Guardrails guards, GenerationSettings settings)
    {
        _model = model;
        _guards = guards;
        _settings = settings;
        _encoder = new EncoderBatch(model);
        var defaults = model.Folder.Generation;
        _rules = new DecodingRules(defaults, [], guards);
        _search = settings.Beams == 1 ? new GreedySearch(defaults, _rules) : new BeamSearch(settings, defaults, _rules);
        _useCacheFalse = model.IsMerged ? OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]) : null;
        _useCacheTrue = model.IsMerged ? OrtValue.CreateTensorValueFromMemory(new[] { true }, [1]) : null;
    }

    /// <summary>Sources still generating.</summary>
    public int Running => _running.Length;

    /// <summary>Whether sources may join now: always into an empty run, into a running one only when the decoder
    /// takes per-row positions.</summary>
    public bool CanJoin => _running.Length == 0 || _model.RowPositions;

    /// <summary>Encodes <paramref name="sources"/> and takes their first step; returns their numbers (for
    /// <see cref="TakeFinished"/> and <see cref="Result"/>). A source may finish at this step already.</summary>
    /// <exception cref="InvalidOperationException">Sources are running and the decoder cannot take rows at
    /// different steps (<see cref="CanJoin"/>).</exception>
    public int[] Join(IReadOnlyList<int[]> sources, InferenceCall call)
    {
        if (!CanJoin)
        {
            throw new InvalidOperationException("This model's decoder runs all rows at one position: sources join an empty run only.");
        }

        var numbers = new int[sources.Count];
        for (int i = 0; i < sources.Count; i++)
        {
            numbers[i] = _rules.AddSource(_guards.MaxNewTokens(sources[i].Length, _settings.MaxNewTokens));
            _search.Start(numbers[i]);
        }

        if (sources.Count == 0)
        {
            return numbers;
        }

        int rowsPerSource = _search.RowsPerSource;
        var (hidden, mask, srcLen) = _encoder.Encode(sources, call);
        var joining = new DecoderCache(hidden, mask, srcLen);
        try
        {
            // The first step runs on one row per source: its beams would all feed the start token over the same
            // encoder rows and get the same values (only the first beam is live at the start, see SourceBeams), so
            // the step's outputs are copied to the beams instead of computed once per beam.
            var tokens = Enumerable.Repeat((long)_model.Folder.Generation.DecoderStartTokenId, joining.Rows).ToArray();
            using var input = OrtValue.CreateTensorValueFromMemory(tokens, [tokens.Length, 1]);
            using var positions = OrtValue.CreateTensorValueFromMemory(joining.Positions, [joining.Rows, 1]);
            using var emptyPast = _model.IsMerged
                ? OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float,
                    [tokens.Length, _model.Folder.DecoderHeads, 0, _model.Folder.HeadDim])
                : null;
            var output = _model.DecodeFirst(input, joining.MaskValue, joining.Hidden, emptyPast, _useCacheFalse, positions, call);
            if (rowsPerSource > 1)
            {
                // Each beam is a row of its own: rows b*beams .. b*beams+beams-1 belong to source b.
                var rows = Enumerable.Range(0, sources.Count * rowsPerSource).Select(r => r / rowsPerSource).ToArray();
                var single = joining;
                joining = single.Repeated(rows);
                single.Dispose();
                output = Repeated(output, rows);
            }

            joining.EncoderKv = output.EncoderKv;
            var step = Advance(joining, output, numbers, call);
            if (step.Running.Length == 0)
            {
                joining.Dispose();
            }
            else if (_cache is null)
            {
                (_cache, _running, _next) = (joining, step.Running, step.NextTokens);
            }
            else
            {
                _cache.Append(joining);
                (_running, _next) = ([.. _running, .. step.Running], [.. _next, .. step.NextTokens]);
            }
        }
        catch
        {
            joining.Dispose();
            throw;
        }

        return numbers;
    }

    /// <summary>One decoder step for every running source.</summary>
    public void Step(InferenceCall call)
    {
        if (_cache is null)
        {
            return;
        }

        using var input = OrtValue.CreateTensorValueFromMemory(_next, [_next.Length, 1]);
        using var positions = OrtValue.CreateTensorValueFromMemory(_cache.Positions, [_cache.Rows, 1]);
        var output = _model.DecodeNext(input, _cache.MaskValue, _cache.Hidden, _cache.DecoderKv!, _cache.EncoderKv!,
            _useCacheTrue, positions, call);
        var step = Advance(_cache, output, _running, call);
        (_running, _next) = (step.Running, step.NextTokens);
        if (_running.Length == 0)
        {
            _cache.Dispose();
            _cache = null;
        }
    }

    /// <summary>The step's cache into <paramref name="cache"/>, its scores into the search, the search's choice of rows
    /// back into the cache.</summary>
    private SearchStep Advance(DecoderCache cache, DecoderStep output, IReadOnlyList<int> sources, InferenceCall call)
    {
        cache.ReplaceDecoderKv(output.DecoderKv);
        using (output.Output)
        {
            using var scores = Score(output.Output, call);
            var step = _search.Step(scores, sources);
            _finished.AddRange(step.Finished);
            cache.Keep(step.Keep);
            return step;
        }
    }

    /// <summary>A first step's outputs with their rows repeated as <paramref name="rows"/> says; the step is disposed.</summary>
    private static DecoderStep Repeated(DecoderStep step, int[] rows)
    {
        static OrtValue[] Each(OrtValue[] values, int[] rows) => values.Select(v =>
        {
            using (v)
            {
                return DecoderCache.GatherRows<float>(v, rows);
            }
        }).ToArray();

        using (step.Output)
        {
            return new DecoderStep(DecoderCache.GatherRows<float>(step.Output, rows), Each(step.DecoderKv, rows),
                step.EncoderKv is null ? null : Each(step.EncoderKv, rows));
        }
    }

    /// <summary>The sources that finished since the last call, in the order they finished.</summary>
    public int[] TakeFinished()
    {
        var finished = _finished.ToArray();
        _finished.Clear();
        return finished;
    }

    /// <summary>A finished source's generated ids (eos included, start token excluded); asked once per source.</summary>
    public int[] Result(int source) => _search.Result(source);

    /// <summary>What the search reads for this step: the decoder's logits, or, with a split-off projection, float32
    /// logits from it (beam search) or its approximate scores plus the hidden states (greedy).</summary>
    private StepScores Score(OrtValue decoderOutput, InferenceCall call)
    {
        if (_model.Projection is not { } projection)
        {
            return new StepScores(decoderOutput, _model.Folder.VocabSize, owned: false);
        }

        using (call.Timer.Measure())
        {
            // The approximate scores find an exact argmax among allowed ids; a repetition penalty moves scores,
            // so greedy search then ranks the float32 logits like beam search.
            return _settings.Beams == 1 && projection.HasApproximate && !_rules.PenalizesRepeats
                ? new StepScores(projection, decoderOutput, projection.ApproximateScores(decoderOutput, call.Options))
                : new StepScores(projection.Logits(decoderOutput, call.Options), _model.Folder.VocabSize, owned: true);
        }
    }

    public void Dispose()
    {
        _cache?.Dispose();
        _useCacheFalse?.Dispose();
        _useCacheTrue?.Dispose();
    }
}
