using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Generation;
using ServerlessInference.Engine.Generation.Decoding;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine;

/// <summary>
/// A Marian / opus-mt model in the Optimum layout, loaded: its folder, tokenizer and ONNX Runtime sessions, and the
/// generator that runs encoder and decoder steps with the cache over a batch of inputs. One instance holds the model's
/// sessions and serves concurrent callers.
/// </summary>
public sealed class TranslationEngine : ITranslationEngine
{
    private readonly MarianOnnxModel _model;
    private readonly MarianGenerator _generator;
    private readonly EngineOptions _options;

    public string ModelName { get; }
    public MarianTokenizer Tokenizer { get; }
    public GenerationConfig Generation => _model.Folder.Generation;
    public IReadOnlyList<string> IgnoredGenerationSettings => Generation.IgnoredSettings;
    public int MaxInputTokens { get; }
    public ModelLimits Limits { get; }

    /// <summary>Where loading spent its time, phase by phase (for the load benchmarks).</summary>
    public LoadTimings LoadTimings => _model.Timings;

    private TranslationEngine(string modelName, MarianOnnxModel model, MarianTokenizer tokenizer, EngineOptions options)
    {
        ModelName = modelName;
        _model = model;
        Tokenizer = tokenizer;
        _options = options;
        _generator = new MarianGenerator(model, Guardrails.From(options));
        MaxInputTokens = Math.Min(model.Folder.MaxPositionEmbeddings, model.Folder.Generation.MaxLength);
        Limits = new ModelLimits(modelName, options.MaxBeams, model.Folder.Generation.MaxLength - 1, tokenizer.TargetLanguages)
        {
            BatchInvariant = model.BatchInvariant,
            LoadNotes = model.LoadNotes,
        };
    }

    /// <param name="dtype">The graph variant to load (<see cref="ModelDtype"/>); null loads the fp32 graphs.</param>
    public static TranslationEngine Load(string modelName, string modelDirectory, EngineOptions? options = null,
        string? dtype = null)
    {
        options ??= EngineOptions.Default;
        return Load(modelName, modelDirectory, options, dtype, encoder: null, timings: null);
    }

    /// <param name="encoder">An encoder session opened early; owned by the engine, or disposed if this throws.</param>
    internal static TranslationEngine Load(string modelName, string modelDirectory, EngineOptions options,
        string? dtype, InferenceSession? encoder, LoadTimings? timings)
    {
        timings ??= new LoadTimings();
        MarianModelFolder folder;
        MarianTokenizer tokenizer;
        try
        {
            folder = timings.Measure("model folder", () => MarianModelFolder.Read(modelDirectory, dtype));
            // Before the sessions, not beside them: on the loaded 2-core VM a tokenizer loaded on another thread made
            // no load shorter (docs/performance.md, "Cold start"), and a bad tokenizer file fails before any session.
            tokenizer = timings.Measure("tokenizer", () => MarianTokenizer.Load(folder.SourceSpmPath, folder.VocabPath));
        }
        catch
        {
            OnnxSessions.Close(encoder);
            throw;
        }

        var model = new MarianOnnxModel(folder, options.IntraOpThreads, options.SplitOutputProjection, encoder, timings,
            options.ContinuousBatching);
        return new TranslationEngine(modelName, model, tokenizer, options);
    }

    public GenerationSettings Resolve(TranslationRequest request)
    {
        Limits.Check(request);
        var g = _model.Folder.Generation;
        int beams = request.Beams ?? Math.Min(g.NumBeams, _options.MaxBeams);
        int maxNew = request.MaxNewTokens ?? Limits.MaxNewTokens;
        return new GenerationSettings(beams, maxNew, g.LengthPenalty, g.EarlyStopping);
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

    public IContinuousDecode? StartContinuous(GenerationSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return _model.RowPositions ? new ContinuousDecode(_generator.Start(settings), cancellationToken) : null;
    }

    /// <summary>The public face of a <see cref="DecodeRun"/>: it owns the run and the call its Runs are made under,
    /// and turns a terminated Run into the cancellation it was.</summary>
    private sealed class ContinuousDecode(DecodeRun run, CancellationToken cancellationToken) : IContinuousDecode
    {
        private readonly InferenceCall _call = new(cancellationToken);

        public int Running => run.Running;

        public TimeSpan OnnxRuntime => _call.Timer.Elapsed;

        public int[] Join(IReadOnlyList<int[]> sources)
        {
            ArgumentNullException.ThrowIfNull(sources);
            return Cancellable(() => run.Join(sources, _call));
        }

        public IReadOnlyList<DecodedInput> Step() => Cancellable(() =>
        {
            run.Step(_call);
            return run.TakeFinished().Select(source => new DecodedInput(source, run.Result(source))).ToArray();
        });

        private T Cancellable<T>(Func<T> work)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return work();
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }

        public void Dispose()
        {
            run.Dispose();
            _call.Dispose();
        }
    }

    public void Dispose() => _model.Dispose();
}
