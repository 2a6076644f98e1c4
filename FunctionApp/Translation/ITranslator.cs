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
}

/// <summary>Per-request generation settings; nulls take the model's generation_config.json values.</summary>
public sealed record TranslationOptions
{
    public static TranslationOptions Default { get; } = new();

    /// <summary>Beam width; 1 is greedy.</summary>
    public int? Beams { get; init; }

    /// <summary>Cap on generated tokens per sentence (the end-of-sentence token included).</summary>
    public int? MaxNewTokens { get; init; }
}

/// <summary>What one model accepts: beam widths up to <paramref name="MaxBeams"/> and up to
/// <paramref name="MaxNewTokens"/> generated tokens (its max_length less the decoder start token).</summary>
public sealed record GenerationLimits(string ModelName, int MaxBeams, int MaxNewTokens)
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
    }
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
    ITranslator Load(string modelName, string modelDirectory);

    /// <summary>Which of a model folder's files (relative paths, '/'-separated) <see cref="Load"/> needs; only
    /// these are downloaded.</summary>
    IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available);
}

/// <summary>The model folder is incomplete or malformed.</summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : Exception(message, inner);
