using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Translation;

/// <summary>Engine settings that are not per request.</summary>
public sealed record MarianTranslatorOptions
{
    public static MarianTranslatorOptions Default { get; } = new();

    /// <summary>Threads one ONNX Runtime Run may use; 0 lets ONNX Runtime pick.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Sentences decoded together; longer inputs are split into several batches.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Largest beam width a request may ask for.</summary>
    public int MaxBeams { get; init; } = 8;

    /// <summary>Split the output projection off the decoder graph (see <see cref="OutputProjection"/>); false runs
    /// the graphs as they are, which the benchmark uses as its baseline.</summary>
    public bool SplitOutputProjection { get; init; } = true;
}

/// <summary>
/// text → sentences → SentencePiece ids → encoder → decoder steps with the cache → text, for a Marian / opus-mt
/// model in the Optimum layout. One instance holds the model's sessions and serves concurrent callers.
/// </summary>
public sealed class MarianTranslator : ITranslator
{
    private readonly MarianOnnxModel _model;
    private readonly MarianGenerator _generator;
    private readonly MarianTranslatorOptions _options;

    public string ModelName { get; }
    public MarianTokenizer Tokenizer { get; }
    public GenerationDefaults Generation => _model.Folder.Generation;

    /// <summary>Source tokens (eos included) one model input may hold. A sentence with more is cut into consecutive
    /// pieces of this size, translated one by one and joined: the model's positions and its output length limit
    /// both bound it, so that a piece's translation fits in one generation.</summary>
    public int MaxInputTokens { get; }

    public GenerationLimits Limits { get; }

    private MarianTranslator(string modelName, MarianOnnxModel model, MarianTokenizer tokenizer, MarianTranslatorOptions options)
    {
        ModelName = modelName;
        _model = model;
        Tokenizer = tokenizer;
        _options = options;
        _generator = new MarianGenerator(model);
        MaxInputTokens = Math.Min(model.Folder.MaxPositionEmbeddings, model.Folder.Generation.MaxLength);
        Limits = new GenerationLimits(modelName, options.MaxBeams, model.Folder.Generation.MaxLength - 1);
    }

    public static MarianTranslator Load(string modelName, string modelDirectory, MarianTranslatorOptions? options = null)
    {
        options ??= MarianTranslatorOptions.Default;
        var folder = MarianModelFolder.Read(modelDirectory);
        var tokenizer = MarianTokenizer.Load(folder.SourceSpmPath, folder.VocabPath);
        var model = new MarianOnnxModel(folder, options.IntraOpThreads, options.SplitOutputProjection);
        return new MarianTranslator(modelName, model, tokenizer, options);
    }

    public Task<TranslationBatchResult> TranslateAsync(
        IReadOnlyList<string> texts, TranslationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        var settings = Resolve(options);
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"Text {i} is null.", nameof(texts));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        // ONNX Runtime's Run is synchronous and CPU-bound: run it off the caller's thread.
        return Task.Run(() => Translate(texts, settings, cancellationToken), cancellationToken);
    }

    private GenerationSettings Resolve(TranslationOptions options)
    {
        Limits.Check(options);
        var g = _model.Folder.Generation;
        int beams = options.Beams ?? Math.Min(g.NumBeams, _options.MaxBeams);
        int maxNew = options.MaxNewTokens ?? Limits.MaxNewTokens;
        return new GenerationSettings(beams, maxNew, g.LengthPenalty, g.EarlyStopping);
    }

    private TranslationBatchResult Translate(IReadOnlyList<string> texts, GenerationSettings settings, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        // Flatten every text into model inputs; remember where each came from.
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
                foreach (var piece in Chunk(Tokenizer.Encode(part.Text)))
                {
                    inputs.Add((t, sentence, piece));
                }

                sentence++;
            }

            sentenceCounts[t] = sentence;
        }

        // Similar lengths together keep padding (wasted work) low.
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => inputs[i].Ids.Length).ToArray();
        var outputs = new int[inputs.Count][];
        long onnxTicks = 0;
        using var run = new RunOptions();
        using var registration = ct.Register(() => run.Terminate = true);
        try
        {
            for (int start = 0; start < order.Length; start += _options.MaxBatchSize)
            {
                ct.ThrowIfCancellationRequested();
                var batch = order.Skip(start).Take(_options.MaxBatchSize).ToArray();
                var generated = _generator.Generate(batch.Select(i => inputs[i].Ids).ToArray(), settings, run, ref onnxTicks);
                for (int j = 0; j < batch.Length; j++)
                {
                    outputs[batch[j]] = generated[j];
                }
            }
        }
        catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }

        // Reassemble: pieces of one sentence join directly, sentences go back between their separators.
        var translations = new Translation[texts.Count];
        var sentenceIds = Enumerable.Range(0, texts.Count).Select(t => new List<int>[sentenceCounts[t]]).ToArray();
        var inputTokens = new int[texts.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var (t, s, ids) = inputs[i];
            (sentenceIds[t][s] ??= []).AddRange(outputs[i]);
            inputTokens[t] += ids.Length;
        }

        for (int t = 0; t < texts.Count; t++)
        {
            var sentences = sentenceIds[t].Select(ids => Tokenizer.Decode(ids)).ToArray();
            var allIds = sentenceIds[t].SelectMany(ids => ids).ToArray();
            translations[t] = new Translation(TextSegmenter.Join(layouts[t], sentences), inputTokens[t], allIds.Length, allIds);
        }

        return new TranslationBatchResult(translations, Stopwatch.GetElapsedTime(started),
            TimeSpan.FromSeconds(onnxTicks / (double)Stopwatch.Frequency));
    }

    /// <summary>Cuts an over-long id sequence (eos last) into pieces of at most <see cref="MaxInputTokens"/> ids,
    /// each ending in eos.</summary>
    private IEnumerable<int[]> Chunk(int[] ids)
    {
        if (ids.Length <= MaxInputTokens)
        {
            yield return ids;
            yield break;
        }

        int body = MaxInputTokens - 1;
        for (int start = 0; start < ids.Length - 1; start += body)
        {
            int length = Math.Min(body, ids.Length - 1 - start);
            var piece = new int[length + 1];
            Array.Copy(ids, start, piece, 0, length);
            piece[^1] = Tokenizer.EosId;
            yield return piece;
        }
    }

    public void Dispose() => _model.Dispose();
}

/// <summary>Creates <see cref="MarianTranslator"/>s; the app registers this as its <see cref="ITranslatorFactory"/>.</summary>
public sealed class MarianTranslatorFactory(MarianTranslatorOptions options) : ITranslatorFactory
{
    public MarianTranslatorFactory() : this(MarianTranslatorOptions.Default)
    {
    }

    public ITranslator Load(string modelName, string modelDirectory) => MarianTranslator.Load(modelName, modelDirectory, options);

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => MarianModelFolder.SelectFiles(available);
}
