using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Functions;

/// <summary>Answers for the translation-API-compatible endpoints. Their clients read errors in their own API's shape
/// (<c>{"error"}</c>, <c>{"message"}</c>), not problem+json, so these functions catch what they throw here instead of
/// leaving it to <see cref="ProblemDetailsMiddleware"/>, with the same mapping (<see cref="ApiResults.FromException"/>:
/// statuses, Retry-After, what is logged) and only the body and the API's own status conventions changed.</summary>
public static class CompatResults
{
    /// <param name="status">The API's status for the app's status (and whether the server was shedding load).</param>
    /// <param name="body">The API's error body for a message.</param>
    public static async Task<IActionResult> AnswerAsync(Func<Task<IActionResult>> work, Func<int, bool, int> status,
        Func<string, object> body, TimeSpan storageRetryAfter, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            return await work();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var mapped = (JsonResponse)ApiResults.FromException(ex, storageRetryAfter, logger);
            var result = Error(status(mapped.StatusCode, ex is ServerBusyException), body(((Problem)mapped.Body).Detail));
            foreach (var (name, value) in mapped.Headers)
            {
                result.Headers[name] = value;
            }
            return result;
        }
    }

    public static JsonResponse Error(int status, object body) => new(status, body);
}
