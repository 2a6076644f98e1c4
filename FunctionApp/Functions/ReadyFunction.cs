using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Functions;

/// <param name="Status">Always "ready" (not ready is a 503 problem).</param>
/// <param name="Model">The catalog's default model.</param>
/// <param name="State">Its state now: "ready", or another state if it has been evicted since.</param>
/// <param name="ReadySince">When this instance first found it loaded.</param>
/// <param name="BatchInvariant">Whether a sentence's translation is independent of the sentences batched with it
/// (absent if the model has been evicted since).</param>
public sealed record ReadyResponse(string Status, string Model, string State, DateTimeOffset? ReadySince,
    bool? BatchInvariant = null);

/// <summary>GET /api/ready: readiness, for probes that decide whether an instance takes traffic. 200 once the
/// catalog's default model has loaded on this instance; until then 503 problem+json with Retry-After, and the first
/// probe of a cold instance starts that load in the background (<see cref="ModelReadiness"/>). Liveness stays on
/// <see cref="HealthFunction"/>, which never loads anything.</summary>
public sealed class ReadyFunction(ModelReadiness readiness)
{
    [Function("Ready")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "ready")] HttpRequest request)
    {
        var check = readiness.Check();
        return check.IsReady
            ? ApiResults.Json(StatusCodes.Status200OK,
                new ReadyResponse("ready", check.Model, HealthFunction.StateName(check.State), check.ReadySince,
                    check.BatchInvariant))
            : ApiResults.Unavailable(check.Detail!, check.RetryAfter);
    }
}
