using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine.Batching;

/// <summary>
/// How one call's texts become model inputs, and the inputs' outputs its translations, apart from running the model:
/// each text is cleaned and cut into sentences, each sentence encoded, and a sentence longer than the model takes cut
/// into pieces. Inputs are independent of one another, so whoever runs them (this call's own batches, or a scheduler
/// that merges several callers' inputs) may group them as it likes and hand back each one's generated ids.
/// </summary>
internal sealed class TranslationPlan
{
    private readonly MarianTokenizer _tokenizer;
    private readonly IReadOnlyList<TextSegmenter.Part>[] _layouts;
    private readonly int[] _sentenceCounts;
    private readonly (int Text, int Sentence)[] _origins;

    private TranslationPlan(MarianTokenizer tokenizer, IReadOnlyList<TextSegmenter.Part>[] layouts, int[] sentenceCounts,
        List<(int Text, int Sentence, int[] Ids)> inputs)
    {
        _tokenizer = tokenizer;
        _layouts = layouts;
        _sentenceCounts = sentenceCounts;
        _origins = inputs.Select(i => (i.Text, i.Sentence)).ToArray();
        Inputs = inputs.Select(i => i.Ids).ToArray();
    }

    /// <summary>The model inputs (source ids, eos last), text by text and sentence by sentence.</summary>
    public IReadOnlyList<int[]> Inputs { get; }

    /// <param name="maxInputTokens">Source tokens (eos included) one model input may hold.</param>
    /// <param name="targetLanguage">A target-language code the tokenizer knows: its token starts every input
    /// (every sentence and every piece of a long one), since the model reads it from the start of each.</param>
    public static TranslationPlan Create(IReadOnlyList<string> texts, MarianTokenizer tokenizer, int maxInputTokens,
        string? targetLanguage = null)
    {
        int[] prefix = [];
        if (targetLanguage is not null)
        {
            prefix = tokenizer.TryGetLanguageId(targetLanguage, out var id)
                ? [id]
                : throw new InvalidRequestException($"The model has no target-language token for '{targetLanguage}'.");
        }

        for (int t = 0; t < texts.Count; t++)
        {
            if (texts[t] is null)
            {
                throw new InvalidRequestException($"Text {t} is null.");
            }
        }

        var layouts = new IReadOnlyList<TextSegmenter.Part>[texts.Count];
        var inputs = new List<(int Text, int Sentence, int[] Ids)>();
        var sentenceCounts = new int[texts.Count];
        for (int t = 0; t < texts.Count; t++)
        {
            var parts = TextSegmenter.Split(TextSegmenter.Clean(texts[t]));
            layouts[t] = parts;
            int sentence = 0;
            foreach (var part in parts.Where(p => p.IsSentence))
            {
                foreach (var piece in Chunk(tokenizer.Encode(part.Text), maxInputTokens - prefix.Length, tokenizer.EosId))
                {
                    inputs.Add((t, sentence, prefix.Length == 0 ? piece : [.. prefix, .. piece]));
                }

                sentence++;
            }

            sentenceCounts[t] = sentence;
        }

        return new TranslationPlan(tokenizer, layouts, sentenceCounts, inputs);
    }

    /// <summary>The translations, one per text, from each input's generated ids (<paramref name="outputs"/>[i]
    /// belongs to <see cref="Inputs"/>[i]): pieces of one sentence join directly, sentences go back between their
    /// separators.</summary>
    public Translation[] Assemble(IReadOnlyList<int[]> outputs)
    {
        if (outputs.Count != Inputs.Count)
        {
            throw new InvalidOperationException($"The plan has {Inputs.Count} inputs; {outputs.Count} outputs were given.");
        }

        var translations = new Translation[_layouts.Length];
        var sentenceIds = _sentenceCounts.Select(count => new List<int>[count]).ToArray();
        var inputTokens = new int[_layouts.Length];
        for (int i = 0; i < Inputs.Count; i++)
        {
            var (t, s) = _origins[i];
            (sentenceIds[t][s] ??= []).AddRange(outputs[i]);
            inputTokens[t] += Inputs[i].Length;
        }

        for (int t = 0; t < _layouts.Length; t++)
        {
            var sentences = sentenceIds[t].Select(ids => _tokenizer.Decode(ids)).ToArray();
            var allIds = sentenceIds[t].SelectMany(ids => ids).ToArray();
            translations[t] = new Translation(TextSegmenter.Join(_layouts[t], sentences), inputTokens[t], allIds.Length, allIds);
        }

        return translations;
    }

    /// <summary>Cuts an over-long id sequence (eos last) into pieces of at most <paramref name="maxInputTokens"/> ids,
    /// each ending in eos.</summary>
    internal static IEnumerable<int[]> Chunk(int[] ids, int maxInputTokens, int eos)
    {
        if (ids.Length <= maxInputTokens)
        {
            yield return ids;
            yield break;
        }

        int body = maxInputTokens - 1;
        for (int start = 0; start < ids.Length - 1; start += body)
        {
            int length = Math.Min(body, ids.Length - 1 - start);
            var piece = new int[length + 1];
            Array.Copy(ids, start, piece, 0, length);
            piece[^1] = eos;
            yield return piece;
        }
    }
}
