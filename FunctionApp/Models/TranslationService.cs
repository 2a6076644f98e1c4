using System.Diagnostics;
using ServerlessInference.Telemetry;
using ServerlessInference.Translation;

namespace ServerlessInference.Models;

public sealed record TranslationOutcome(string Model, TranslationBatchResult Result, TimeSpan Duration);

/// <summary>Runs one batch on a leased model and reports it; shared by the HTTP API and batch jobs.</summary>
public sealed class TranslationService(ModelHost models, ModelCatalog catalog, InferenceTelemetry telemetry)
{
    /// <summary>Checks options against the model's own ranges (loading it if needed), so work that runs later,
    /// such as a batch job, is rejected now rather than failing in a queue an hour later.</summary>
    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="ArgumentException">An option is out of the model's range.</exception>
    public async Task<string> ValidateAsync(string? model, TranslationOptions options, CancellationToken cancellationToken)
    {
        var name = catalog.Resolve(model).Name;
        using var lease = await models.AcquireAsync(name, cancellationToken);
        lease.Translator.Limits.Check(options);
        return name;
    }

    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="ArgumentException">The engine rejected a text or an option.</exception>
    public async Task<TranslationOutcome> TranslateAsync(string? model, IReadOnlyList<string> texts,
        TranslationOptions options, string source, CancellationToken cancellationToken)
    {
        var name = catalog.Resolve(model).Name;
        var stopwatch = Stopwatch.StartNew();
        using var lease = await models.AcquireAsync(name, cancellationToken);
        TranslationBatchResult result;
        try
        {
            result = await lease.Translator.TranslateAsync(texts, options, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            telemetry.Failure(InferenceTelemetry.FailureKinds.InvalidInput, name, ex.Message);
            throw;
        }
        var duration = stopwatch.Elapsed;
        telemetry.Translated(name, source, texts.Count, result.Translations.Sum(t => t.InputTokens),
            result.Translations.Sum(t => t.OutputTokens), duration);
        return new TranslationOutcome(name, result, duration);
    }
}
