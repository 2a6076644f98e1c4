using System.Diagnostics;
using Microsoft.Extensions.Options;
using ServerlessInference.Options;
using ServerlessInference.Serving;
using ServerlessInference.Telemetry;
using ServerlessInference.Translation;

namespace ServerlessInference.Models;

public sealed record TranslationOutcome(string Model, TranslationBatchResult Result, TimeSpan Duration);

/// <summary>Runs one request's texts on a leased model, through the model's <see cref="BatchScheduler"/> (so concurrent
/// requests and job chunks share engine batches), and reports it; shared by the HTTP API and batch jobs.</summary>
public sealed class TranslationService(ModelHost models, ModelCatalog catalog, InferenceTelemetry telemetry,
    IOptions<TranslationLimitsOptions> limits)
{
    /// <summary>Checks options against the model's own ranges (loading it if needed), so work that runs later,
    /// such as a batch job, is rejected now rather than failing in a queue an hour later.</summary>
    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="ArgumentException">An option is out of the model's range.</exception>
    /// <returns>The model's catalog name and the options as they will run (the catalog's default target language
    /// filled in), so later work does not depend on the catalog still saying the same.</returns>
    public async Task<(string Model, TranslationOptions Options)> ValidateAsync(string? model, TranslationOptions options,
        CancellationToken cancellationToken)
    {
        var entry = catalog.Resolve(model);
        using var lease = await models.AcquireAsync(entry.Name, cancellationToken);
        var effective = WithDefaults(entry, lease.Translator.Limits, options);
        lease.Translator.Limits.Check(effective);
        return (entry.Name, effective);
    }

    /// <summary>The catalog entry's target language where the caller named none. A default the model's vocab
    /// lacks is the deployment's mistake, not the caller's: the model cannot be served until it is fixed.</summary>
    private static TranslationOptions WithDefaults(ModelCatalogEntry entry, GenerationLimits limits, TranslationOptions options)
    {
        if (options.TargetLanguage is not null || string.IsNullOrEmpty(entry.TargetLanguage))
        {
            return options;
        }

        if (!limits.TargetLanguages.Contains(entry.TargetLanguage, StringComparer.Ordinal))
        {
            var supported = limits.TargetLanguages.Count == 0 ? "none" : string.Join(", ", limits.TargetLanguages);
            throw new ModelUnavailableException(entry.Name,
                $"its catalog entry's TargetLanguage '{entry.TargetLanguage}' is not in its vocab (supported: {supported}).",
                MisconfiguredRetryAfter);
        }

        return options with { TargetLanguage = entry.TargetLanguage };
    }

    /// <summary>Retry-After for a catalog mistake: only a redeployment fixes it, so callers should not hurry back.</summary>
    private static readonly TimeSpan MisconfiguredRetryAfter = TimeSpan.FromMinutes(5);

    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="ArgumentException">The engine rejected a text or an option.</exception>
    /// <exception cref="ServerBusyException">The instance has as much pending work as it accepts.</exception>
    /// <exception cref="WorkLimitExceededException">Interactive texts over
    /// <see cref="TranslationLimitsOptions.MaxSourceTokens"/>. Background work (job chunks) is bounded by the chunk
    /// size instead, and waits behind interactive callers.</exception>
    /// <param name="source">Telemetry's name for the caller ("http", "job").</param>
    public async Task<TranslationOutcome> TranslateAsync(string? model, IReadOnlyList<string> texts,
        TranslationOptions options, string source, WorkPriority priority, CancellationToken cancellationToken)
    {
        var entry = catalog.Resolve(model);
        var name = entry.Name;
        var stopwatch = Stopwatch.StartNew();
        TranslationBatchResult result;
        try
        {
            using var lease = await models.AcquireAsync(name, cancellationToken);
            options = WithDefaults(entry, lease.Translator.Limits, options);
            var maxSourceTokens = priority == WorkPriority.Interactive ? limits.Value.MaxSourceTokens : int.MaxValue;
            result = await lease.Scheduler.TranslateAsync(texts, options, priority, cancellationToken, maxSourceTokens);
        }
        catch (Exception ex)
        {
            telemetry.TranslationFailed(name, source, Outcome(ex, cancellationToken), ex.Message, stopwatch.Elapsed);
            throw;
        }
        var duration = stopwatch.Elapsed;
        telemetry.Translated(name, source, texts.Count, result.Translations.Sum(t => t.InputTokens),
            result.Translations.Sum(t => t.OutputTokens), duration);
        return new TranslationOutcome(name, result, duration);
    }

    /// <summary>How a failed call is counted; every exception is, so the outcomes add up to the calls made.</summary>
    private static string Outcome(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        ArgumentException or WorkLimitExceededException => InferenceTelemetry.Outcomes.InvalidInput,
        ServerBusyException => InferenceTelemetry.Outcomes.Busy,
        ModelUnavailableException => InferenceTelemetry.Outcomes.Unavailable,
        OperationCanceledException when cancellationToken.IsCancellationRequested => InferenceTelemetry.Outcomes.Cancelled,
        _ => InferenceTelemetry.Outcomes.Error,
    };
}
