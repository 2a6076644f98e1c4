using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ServerlessInference.Engine.Generation.Decoding;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine.Generation;

/// <summary>
/// The decode loop: greedy and beam search over <see cref="MarianOnnxModel"/>, the sources encoded by
/// <see cref="EncoderBatch"/> and the key/value cache held by <see cref="DecoderCache"/>.
/// Semantics follow transformers' generate: decoding starts from the decoder start token, generation_config.json's
/// logits processors apply (<see cref="DecodingRules"/>), and every sequence of a batch finishes on its own, at eos or
/// at its length bound (<see cref="Guardrails"/>: the request's limit, tightened by the source's length).
/// Finished sequences leave the batch (their cache rows are dropped) so they cost nothing further.
/// </summary>
internal sealed class MarianGenerator(MarianOnnxModel model, Guardrails guards)
{
    private readonly GenerationConfig _defaults = model.Folder.Generation;
    private readonly EncoderBatch _encoder = new(model);

    /// <summary>Generated ids for each source (eos included, start token excluded), in input order.</summary>
    public int[][] Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, InferenceCall call)
    {
        if (sources.Count == 0)
        {
            return [];
        }

        int beams = settings.Beams;
        int batch = sources.Count;
        var (hidden, mask, srcLen) = _encoder.Encode(sources, call);

        // Each beam is a row of its own: rows b*beams .. b*beams+beams-1 belong to source b.
        var rowMask = beams == 1 ? mask : EncoderBatch.RepeatRows(mask, srcLen, beams);
        if (beams > 1)
        {
            using var single = hidden;
            hidden = DecoderCache.GatherRows<float>(single, Enumerable.Range(0, batch * beams).Select(r => r / beams).ToArray());
        }

        // Each source's own length bound (the guardrail), under the request's limit.
        var maxNewPerSource = sources.Select(s => guards.MaxNewTokens(s.Length, settings.MaxNewTokens)).ToArray();
        var rules = new DecodingRules(_defaults, maxNewPerSource, guards);
        var search = beams == 1
            ? (ISearch)new GreedySearch(batch, _defaults, rules)
            : new BeamSearch(batch, settings, _defaults, rules);
        using var state = new DecoderCache(hidden, rowMask, srcLen);
        int maxNew = maxNewPerSource.Max();
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
                using var scores = Score(output.Output, beams, rules, call);
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

    /// <summary>What the search reads for this step: the decoder's logits, or, with a split-off projection, float32
    /// logits from it (beam search) or its approximate scores plus the hidden states (greedy).</summary>
    private StepScores Score(OrtValue decoderOutput, int beams, DecodingRules rules, InferenceCall call)
    {
        if (model.Projection is not { } projection)
        {
            return new StepScores(decoderOutput, model.Folder.VocabSize, owned: false);
        }

        using (call.Timer.Measure())
        {
            // The approximate scores find an exact argmax among allowed ids; a repetition penalty moves scores,
            // so greedy search then ranks the float32 logits like beam search.
            return beams == 1 && projection.HasApproximate && !rules.PenalizesRepeats
                ? new StepScores(projection, decoderOutput, projection.ApproximateScores(decoderOutput, call.Options))
                : new StepScores(projection.Logits(decoderOutput, call.Options), model.Folder.VocabSize, owned: true);
        }
    }

}
