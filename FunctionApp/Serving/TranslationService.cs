using System.Diagnostics;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.ModelHosting;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Serving;

public sealed record TranslationOutcome(string Model, TranslationResult Result, TimeSpan Duration);

/// <summary>Runs one request's texts on a leased model, through the model's <see cref="BatchScheduler"/> (so concurrent
/// requests and job chunks share engine batches), and reports it; shared by the HTTP API and batch jobs.</summary>
public sealed class TranslationService(ModelHost models, ModelCatalog catalog, InferenceTelemetry telemetry,
    IOptions<RequestLimitsOptions> limits, TranslatedCharacters usage)
{
    /// <summary>Checks a request's options against the model's own ranges (loading it if needed), so work that runs
    /// later, such as a batch job, is rejected now rather than failing in a queue an hour later. The check is the one
    /// every translation makes (<see cref="ITranslationEngine.Resolve"/>).</summary>
    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="InvalidRequestException">An option is out of the model's range.</exception>
    /// <returns>The model's catalog name and the request as it will run (the catalog's default target language
    /// filled in), so later work does not depend on the catalog still saying the same.</returns>
    public async Task<(string Model, TranslationRequest Request)> ValidateAsync(string? model, TranslationRequest request,
        CancellationToken cancellationToken)
    {
        var entry = catalog.Resolve(model);
        using var lease = await models.AcquireAsync(entry.Name, cancellationToken);
        var effective = WithDefaults(entry, request);
        lease.Engine.Resolve(effective);
        return (entry.Name, effective);
    }

    /// <summary>The catalog entry's target language where the caller named none. The model's load has already
    /// checked that its vocab has it (<see cref="ModelHost"/>), so a misconfigured default never gets this far.</summary>
    private static TranslationRequest WithDefaults(ModelCatalogEntry entry, TranslationRequest request) =>
        request.TargetLanguage is not null || string.IsNullOrEmpty(entry.TargetLanguage)
            ? request
            : request with { TargetLanguage = entry.TargetLanguage };

    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="InvalidRequestException">The model rejected an option.</exception>
    /// <exception cref="ServerBusyException">The instance has as much pending work as it accepts.</exception>
    /// <exception cref="WorkLimitExceededException">Interactive texts over
    /// <see cref="RequestLimitsOptions.MaxSourceTokens"/>. Background work (job chunks) is bounded by the chunk
    /// size instead, and waits behind interactive callers.</exception>
    /// <param name="source">Telemetry's name for the caller ("http", "job").</param>
    public async Task<TranslationOutcome> TranslateAsync(string? model, TranslationRequest request, string source,
        WorkPriority priority, CancellationToken cancellationToken)
    {
        var entry = catalog.Resolve(model);
        var name = entry.Name;
        var stopwatch = Stopwatch.StartNew();
        TranslationResult result;
        try
        {
            using var lease = await models.AcquireAsync(name, cancellationToken);
            request = WithDefaults(entry, request);
            var maxSourceTokens = priority == WorkPriority.Interactive ? limits.Value.MaxSourceTokens : int.MaxValue;
            result = await lease.Scheduler.TranslateAsync(request, priority, cancellationToken, maxSourceTokens);
        }
        catch (Exception ex)
        {
            telemetry.TranslationFailed(name, source, Outcome(ex, cancellationToken), ex.Message, stopwatch.Elapsed);
            throw;
        }
        var duration = stopwatch.Elapsed;
        usage.Add(request.Texts);
        telemetry.Translated(name, source, request.Texts.Count, result.Translations.Sum(t => t.InputTokens),
            result.Translations.Sum(t => t.OutputTokens), duration);
        return new TranslationOutcome(name, result, duration);
    }

    /// <summary>How a failed call is counted; every exception is, so the outcomes add up to the calls made.</summary>
    private static string Outcome(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        InvalidRequestException or WorkLimitExceededException => InferenceTelemetry.Outcomes.InvalidInput,
        ServerBusyException => InferenceTelemetry.Outcomes.Busy,
        ModelUnavailableException => InferenceTelemetry.Outcomes.Unavailable,
        OperationCanceledException when cancellationToken.IsCancellationRequested => InferenceTelemetry.Outcomes.Cancelled,
        _ => InferenceTelemetry.Outcomes.Error,
    };
}
