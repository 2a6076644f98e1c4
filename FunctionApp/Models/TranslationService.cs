using System.Diagnostics;
using ServerlessInference.Serving;
using ServerlessInference.Telemetry;
using ServerlessInference.Translation;

namespace ServerlessInference.Models;

public sealed record TranslationOutcome(string Model, TranslationBatchResult Result, TimeSpan Duration);

/// <summary>Runs one request's texts on a leased model, through the model's <see cref="BatchScheduler"/> (so concurrent
/// requests and job chunks share engine batches), and reports it; shared by the HTTP API and batch jobs.</summary>
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
    /// <exception cref="ServerBusyException">The instance has as much pending work as it accepts.</exception>
    /// <param name="source">Telemetry's name for the caller ("http", "job").</param>
    public async Task<TranslationOutcome> TranslateAsync(string? model, IReadOnlyList<string> texts,
        TranslationOptions options, string source, WorkPriority priority, CancellationToken cancellationToken)
    {
        var name = catalog.Resolve(model).Name;
        var stopwatch = Stopwatch.StartNew();
        TranslationBatchResult result;
        try
        {
            using var lease = await models.AcquireAsync(name, cancellationToken);
            result = await lease.Scheduler.TranslateAsync(texts, options, priority, cancellationToken);
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
        ArgumentException => InferenceTelemetry.Outcomes.InvalidInput,
        ServerBusyException => InferenceTelemetry.Outcomes.Busy,
        ModelUnavailableException => InferenceTelemetry.Outcomes.Unavailable,
        OperationCanceledException when cancellationToken.IsCancellationRequested => InferenceTelemetry.Outcomes.Cancelled,
        _ => InferenceTelemetry.Outcomes.Error,
    };
}
