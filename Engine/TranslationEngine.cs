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
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        MarianModelFolder folder;
        try
        {
            folder = timings.Measure("model folder", () => MarianModelFolder.Read(modelDirectory, dtype));
        }
        catch
        {
            OnnxSessions.Close(encoder);
            throw;
        }

        // The tokenizer beside the sessions: it needs only the folder. A bad tokenizer file is still the error reported
        // when both fail, as when it loaded first.
        var (tokenizer, model) = ConcurrentLoad.Run(
            () => timings.Measure("tokenizer", () => MarianTokenizer.Load(folder.SourceSpmPath, folder.VocabPath)),
            // Owns the early encoder from here on: closes it when it fails, and is disposed when the tokenizer fails.
            () => new MarianOnnxModel(folder, options.IntraOpThreads, options.SplitOutputProjection, encoder, timings,
                options.ContinuousBatching),
            releaseSecond: m => m.Dispose());
        timings.Add(WallClockPhase, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return new TranslationEngine(modelName, model, tokenizer, options);
    }

    /// <summary>The phase that times the whole of <see cref="Load(string, string, EngineOptions?, string?)"/>, from the
    /// folder to the last session: the other phases overlap (the tokenizer, the encoder and the decoder chain load at
    /// once), so they do not add up to it.</summary>
    public const string WallClockPhase = "engine load, wall clock (phases overlap)";

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
