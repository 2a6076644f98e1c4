using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessInference.Models;

namespace ServerlessInference.Functions;

public sealed record HealthResponse(string Status, IReadOnlyList<ModelHealth> Models);

public sealed record ModelHealth(string Name, string State, string? Reason, DateTimeOffset? RetryAfter);

/// <summary>GET /api/health: liveness (always 200 while the worker runs) plus each model's state. It never loads a
/// model: probes must stay cheap and must not turn a cold instance into a download.</summary>
public sealed class HealthFunction(ModelHost models)
{
    [Function("Health")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request)
    {
        var states = models.GetStatuses().Select(s => new ModelHealth(s.Name, s.State switch
        {
            ModelState.Ready => "ready",
            ModelState.Loading => "loading",
            ModelState.Failed => "failed",
            _ => "notLoaded",
        }, s.Reason, s.RetryAfter)).ToList();
        return ApiResults.Json(StatusCodes.Status200OK, new HealthResponse("alive", states));
    }
}
