using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.ModelHosting;
using ServerlessInference.Requests;
using ServerlessInference.Storage;

namespace ServerlessInference.Functions;

/// <summary>A JSON response written directly (no MVC formatter services needed, so tests can execute it on a bare
/// <see cref="DefaultHttpContext"/>).</summary>
public sealed class JsonResponse(int statusCode, object body, string contentType = "application/json") : IActionResult
{
    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public int StatusCode { get; } = statusCode;
    public object Body { get; } = body;
    public Dictionary<string, string> Headers { get; } = [];

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = contentType + "; charset=utf-8";
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        await JsonSerializer.SerializeAsync(response.Body, Body, Body.GetType(), SerializerOptions, context.HttpContext.RequestAborted);
    }
}

/// <summary>RFC 9457 problem details; <c>detail</c> says what to fix and never carries a stack trace.</summary>
public sealed record Problem(string Type, string Title, int Status, string Detail);

public static class ApiResults
{
    public static JsonResponse Json(int status, object body) => new(status, body);

    public static JsonResponse Problem(int status, string detail)
    {
        var problem = new Problem("about:blank", ReasonPhrases.GetReasonPhrase(status), status, detail);
        return new JsonResponse(status, problem, "application/problem+json");
    }

    public static JsonResponse Unavailable(string detail, TimeSpan retryAfter)
    {
        var result = Problem(StatusCodes.Status503ServiceUnavailable, detail);
        result.Headers["Retry-After"] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return result;
    }

    /// <summary>The one mapping from what HTTP functions throw to what callers see (used by
    /// <see cref="ProblemDetailsMiddleware"/>). Anything not listed is a 500 whose details stay in the logs.</summary>
    public static IActionResult FromException(Exception exception, TimeSpan storageRetryAfter, ILogger logger)
    {
        switch (exception)
        {
            case RequestRejectedException rejected:
                return Problem(rejected.Status, rejected.Message);
            case UnknownModelException unknown:
                return Problem(StatusCodes.Status404NotFound, unknown.Message);
            case ModelUnavailableException unavailable:
                return Unavailable(unavailable.Message, unavailable.RetryAfter);
            case ServerBusyException busy:
                return Unavailable(busy.Message, busy.RetryAfter);
            case WorkLimitExceededException tooMuch:
                return Problem(StatusCodes.Status413PayloadTooLarge, tooMuch.Message);
            case InvalidRequestException invalid:
                return Problem(StatusCodes.Status400BadRequest, invalid.Message);
            case BadHttpRequestException badRequest:
                // Kestrel's own verdict on the request (body over its size limit, malformed chunking, client stalled).
                return Problem(badRequest.StatusCode, badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? "The body is too large." : "The request could not be read.");
            case not null when StorageFailures.IsUnavailable(exception):
                // One line per failed call: an outage fails every call, and the stack says nothing new each time.
                logger.StorageUnavailable(StorageFailures.Describe(exception));
                logger.StorageUnavailableDetail(exception);
                return Unavailable("Storage is unavailable; retry later.", storageRetryAfter);
            default:
                logger.UnhandledError(exception);
                return Problem(StatusCodes.Status500InternalServerError, "An unexpected error occurred; it has been logged.");
        }
    }
}
