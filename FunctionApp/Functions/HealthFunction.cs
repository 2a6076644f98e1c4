using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessInference.Engine.Batching;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Functions;

public sealed record HealthResponse(string Status, IReadOnlyList<ModelHealth> Models, BacklogHealth Backlog);

/// <param name="PendingSentences">Sentences queued or running on this instance.</param>
/// <param name="MaxPendingSentences">Where new work starts being turned away.</param>
/// <param name="SentencesPerSecond">Measured engine speed; absent until a batch has run.</param>
/// <param name="EstimatedSeconds">How long the pending work should take at that speed.</param>
public sealed record BacklogHealth(long PendingSentences, int MaxPendingSentences, double? SentencesPerSecond, double EstimatedSeconds);

/// <param name="TargetLanguages">Codes a request's targetLanguage may name (empty: the model has one target
/// language and takes none); absent until the model is loaded, since health never loads one.</param>
/// <param name="DefaultTargetLanguage">The catalog's default for requests that name none.</param>
/// <param name="BatchInvariant">Whether a sentence's translation is independent of the sentences batched with it;
/// false for a quantisation with one activation scale per batch, whose sentences then run one at a time. Absent
/// until the model is loaded (it is read from the graphs).</param>
public sealed record ModelHealth(string Name, string State, string? Reason, DateTimeOffset? RetryAfter,
    IReadOnlyList<string>? TargetLanguages, string? DefaultTargetLanguage, bool? BatchInvariant = null);

/// <summary>GET /api/health: liveness (always 200 while the worker runs) plus each model's state. It never loads a
/// model: probes must stay cheap and must not turn a cold instance into a download. It also reports the instance's
/// backlog, so an operator sees load shedding coming.</summary>
public sealed class HealthFunction(ModelHost models, ServingBacklog backlog)
{
    [Function("Health")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request)
    {
        var states = models.GetStatuses().Select(s => new ModelHealth(s.Name, StateName(s.State), s.Reason, s.RetryAfter,
            s.TargetLanguages, s.DefaultTargetLanguage, s.BatchInvariant)).ToList();
        var speed = backlog.SentencesPerSecond;
        var load = new BacklogHealth(backlog.PendingSentences, backlog.MaxPendingSentences,
            speed is { } s ? Math.Round(s, 1) : null, Math.Round(backlog.EstimatedSeconds, 2));
        return ApiResults.Json(StatusCodes.Status200OK, new HealthResponse("alive", states, load));
    }

    /// <summary>A model state as the API spells it (health and readiness).</summary>
    internal static string StateName(ModelState state) => state switch
    {
        ModelState.Ready => "ready",
        ModelState.Loading => "loading",
        ModelState.Failed => "failed",
        _ => "notLoaded",
    };
}
