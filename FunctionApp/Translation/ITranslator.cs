namespace ServerlessInference.Translation;

/// <summary>Translates texts with one loaded model. Thread-safe: one instance serves concurrent callers.
/// Disposing it releases the model's native ONNX Runtime sessions.</summary>
public interface ITranslator : IDisposable
{
    /// <summary>The model's name as the catalog knows it.</summary>
    string ModelName { get; }

    /// <summary>The ranges this model accepts for <see cref="TranslationOptions"/>.</summary>
    GenerationLimits Limits { get; }

    /// <summary>Translates each text; results are in input order.</summary>
    /// <exception cref="ArgumentException">A text or an option is invalid; the message says which.</exception>
    Task<TranslationBatchResult> TranslateAsync(
        IReadOnlyList<string> texts, TranslationOptions options, CancellationToken cancellationToken = default);

    /// <summary>The first half of <see cref="TranslateAsync"/> without running the model: the texts as independent
    /// model inputs plus the resolved settings, for a scheduler that batches several callers' inputs together.</summary>
    /// <exception cref="ArgumentException">A text or an option is invalid; the message says which.</exception>
    PlannedTranslation Plan(IReadOnlyList<string> texts, TranslationOptions options);

    /// <summary>Runs the model once over <paramref name="sources"/> (inputs of any plans, all with
    /// <paramref name="settings"/>); blocks the calling thread. Outputs are in input order.</summary>
    BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken);
}

/// <summary>One call's model inputs and how to turn their outputs back into translations.</summary>
public sealed class PlannedTranslation
{
    private readonly TranslationPlan _plan;

    internal PlannedTranslation(TranslationPlan plan, GenerationSettings settings)
    {
        _plan = plan;
        Settings = settings;
    }

    /// <summary>Source ids of each model input (eos last); independent of one another.</summary>
    public IReadOnlyList<int[]> Inputs => _plan.Inputs;

    /// <summary>Inputs may only be batched with inputs of equal settings.</summary>
    public GenerationSettings Settings { get; }

    /// <summary>The translations, one per text, from each input's generated ids (same order as
    /// <see cref="Inputs"/>).</summary>
    public IReadOnlyList<Translation> Assemble(IReadOnlyList<int[]> outputs) => _plan.Assemble(outputs);
}

/// <summary>Generated ids for each source of one model run, and the time spent inside ONNX Runtime.</summary>
public sealed record BatchOutput(int[][] Ids, TimeSpan OnnxRuntime);

/// <summary>Per-request generation settings; nulls take the model's generation_config.json values.</summary>
public sealed record TranslationOptions
{
    public static TranslationOptions Default { get; } = new();

    /// <summary>Beam width; 1 is greedy.</summary>
    public int? Beams { get; init; }

    /// <summary>Cap on generated tokens per sentence (the end-of-sentence token included).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>A multi-target model's target language (cmn_Hant for the token &gt;&gt;cmn_Hant&lt;&lt;), put in front
    /// of every model input; null leaves the texts as they are.</summary>
    public string? TargetLanguage { get; init; }
}

/// <summary>What one model accepts: beam widths up to <paramref name="MaxBeams"/> and up to
/// <paramref name="MaxNewTokens"/> generated tokens (its max_length less the decoder start token), and the
/// target-language codes its vocab holds (<paramref name="TargetLanguages"/>; empty for a single-target model).</summary>
public sealed record GenerationLimits(string ModelName, int MaxBeams, int MaxNewTokens, IReadOnlyList<string> TargetLanguages)
{
    /// <exception cref="ArgumentException">An option is out of range; the message gives the model's range.</exception>
    public void Check(TranslationOptions options)
    {
        // No paramName: ArgumentException would append "(Parameter '...')", which callers must not see.
        if (options.Beams is { } beams && (beams < 1 || beams > MaxBeams))
        {
            throw new ArgumentException($"'beams' must be between 1 and {MaxBeams} for model '{ModelName}'; it is {beams}.");
        }

        if (options.MaxNewTokens is { } maxNew && (maxNew < 1 || maxNew > MaxNewTokens))
        {
            throw new ArgumentException($"'maxNewTokens' must be between 1 and {MaxNewTokens} for model '{ModelName}'; it is {maxNew}.");
        }

        if (options.TargetLanguage is { } language && !TargetLanguages.Contains(language, StringComparer.Ordinal))
        {
            throw new ArgumentException(TargetLanguages.Count == 0
                ? $"Model '{ModelName}' has a single target language and takes no 'targetLanguage'; leave it out."
                : $"'targetLanguage' '{Shown(language)}' is not supported by model '{ModelName}'; it supports " +
                  $"{string.Join(", ", TargetLanguages)}.");
        }
    }

    /// <summary>A caller's value quoted back in an error, cut short.</summary>
    private static string Shown(string value) => value.Length <= 64 ? value : value[..64] + "…";
}

/// <summary>One translated text.</summary>
/// <param name="OutputIds">Generated model ids (without the decoder start token), sentence pieces concatenated.</param>
public sealed record Translation(string Text, int InputTokens, int OutputTokens, IReadOnlyList<int> OutputIds);

/// <summary>Translations in input order, with where the time went.</summary>
public sealed record TranslationBatchResult(
    IReadOnlyList<Translation> Translations, TimeSpan Elapsed, TimeSpan OnnxRuntime);

/// <summary>Loads a model folder (Optimum / transformers.js layout) into a ready translator.</summary>
public interface ITranslatorFactory
{
    /// <exception cref="ModelFormatException">A file is missing or malformed; the message names it.</exception>
    /// <param name="dtype">The graph variant (<see cref="ModelDtype"/>); null means fp32.</param>
    ITranslator Load(string modelName, string modelDirectory, string? dtype = null);

    /// <summary>Which of a model folder's files (relative paths, '/'-separated) <see cref="Load"/> needs for
    /// <paramref name="dtype"/>; only these are downloaded.</summary>
    IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null);

    /// <summary>Starts a load that may begin work on each file as soon as it is on disk, while the rest still
    /// downloads. The default waits for the whole folder and calls <see cref="Load"/>.</summary>
    ITranslatorLoad BeginLoad(string modelName, string? dtype = null) => new WholeFolderLoad(this, modelName, dtype);

    private sealed class WholeFolderLoad(ITranslatorFactory factory, string modelName, string? dtype) : ITranslatorLoad
    {
        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => factory.SelectFiles(available, dtype);

        public Task? FileReady(string relativePath, string path) => null;

        public Task<ITranslator> CompleteAsync(string modelDirectory, CancellationToken cancellationToken) =>
            Task.FromResult(factory.Load(modelName, modelDirectory, dtype));

        public void Dispose()
        {
        }
    }
}

/// <summary>One model load in progress, fed the model's files as they arrive. Disposing it releases whatever it
/// created and did not hand over in <see cref="CompleteAsync"/>.</summary>
public interface ITranslatorLoad : IDisposable
{
    /// <summary>The files to download, as <see cref="ITranslatorFactory.SelectFiles"/>.</summary>
    IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available);

    /// <summary>A selected file is complete and verified at <paramref name="path"/> (which may be a staging path that
    /// stays valid only until the returned work has finished). Returns that work, or null if it starts none. Called
    /// concurrently for different files.</summary>
    Task? FileReady(string relativePath, string path);

    /// <summary>Every selected file is in <paramref name="modelDirectory"/>: builds the translator, using the work
    /// started early.</summary>
    /// <exception cref="ModelFormatException">A file is missing or malformed; the message names it.</exception>
    Task<ITranslator> CompleteAsync(string modelDirectory, CancellationToken cancellationToken);
}

/// <summary>The model folder is incomplete or malformed.</summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);
