using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessInference.Translation;

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
        Limits = new GenerationLimits(modelName, options.MaxBeams, model.Folder.Generation.MaxLength - 1,
            tokenizer.TargetLanguages);
    }

    /// <param name="dtype">The graph variant to load (<see cref="ModelDtype"/>); null loads the fp32 graphs.</param>
    public static MarianTranslator Load(string modelName, string modelDirectory, MarianTranslatorOptions? options = null,
        string? dtype = null)
    {
        options ??= MarianTranslatorOptions.Default;
        return Load(modelName, modelDirectory, options, dtype, encoder: null);
    }

    /// <param name="encoder">An encoder session opened early; owned by the translator, or disposed if this throws.</param>
    internal static MarianTranslator Load(string modelName, string modelDirectory, MarianTranslatorOptions options,
        string? dtype, InferenceSession? encoder)
    {
        MarianModelFolder folder;
        MarianTokenizer tokenizer;
        try
        {
            folder = MarianModelFolder.Read(modelDirectory, dtype);
            tokenizer = MarianTokenizer.Load(folder.SourceSpmPath, folder.VocabPath);
        }
        catch
        {
            encoder?.Dispose();
            throw;
        }

        var model = new MarianOnnxModel(folder, options.IntraOpThreads, options.SplitOutputProjection, encoder);
        return new MarianTranslator(modelName, model, tokenizer, options);
    }

    public Task<TranslationBatchResult> TranslateAsync(
        IReadOnlyList<string> texts, TranslationOptions options, CancellationToken cancellationToken = default)
    {
        var settings = Validate(texts, options);
        cancellationToken.ThrowIfCancellationRequested();
        // ONNX Runtime's Run is synchronous and CPU-bound: run it off the caller's thread.
        return Task.Run(() => Translate(texts, options.TargetLanguage, settings, cancellationToken), cancellationToken);
    }

    public PlannedTranslation Plan(IReadOnlyList<string> texts, TranslationOptions options)
    {
        var settings = Validate(texts, options);
        return new PlannedTranslation(TranslationPlan.Create(texts, Tokenizer, MaxInputTokens, options.TargetLanguage), settings);
    }

    public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(settings);
        using var call = new InferenceCall(cancellationToken);
        try
        {
            return new BatchOutput(_generator.Generate(sources, settings, call), call.Timer.Elapsed);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private GenerationSettings Validate(IReadOnlyList<string> texts, TranslationOptions options)
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

        return settings;
    }

    private GenerationSettings Resolve(TranslationOptions options)
    {
        Limits.Check(options);
        var g = _model.Folder.Generation;
        int beams = options.Beams ?? Math.Min(g.NumBeams, _options.MaxBeams);
        int maxNew = options.MaxNewTokens ?? Limits.MaxNewTokens;
        return new GenerationSettings(beams, maxNew, g.LengthPenalty, g.EarlyStopping);
    }

    private TranslationBatchResult Translate(IReadOnlyList<string> texts, string? targetLanguage, GenerationSettings settings,
        CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var plan = TranslationPlan.Create(texts, Tokenizer, MaxInputTokens, targetLanguage);
        var outputs = new int[plan.Inputs.Count][];
        var onnxRuntime = TimeSpan.Zero;
        foreach (var batch in SourceBatch.Rebatch(plan.Inputs, _options.MaxBatchSize))
        {
            ct.ThrowIfCancellationRequested();
            var generated = Generate(batch.Sources, settings, ct);
            onnxRuntime += generated.OnnxRuntime;
            for (int j = 0; j < batch.Indices.Length; j++)
            {
                outputs[batch.Indices[j]] = generated.Ids[j];
            }
        }

        return new TranslationBatchResult(plan.Assemble(outputs), Stopwatch.GetElapsedTime(started), onnxRuntime);
    }

    public void Dispose() => _model.Dispose();
}
