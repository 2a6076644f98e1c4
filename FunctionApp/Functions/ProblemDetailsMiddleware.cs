using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.ModelHosting;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Functions;

/// <summary>Turns what an HTTP function throws into its problem+json answer, so functions read parse → call → map
/// and every endpoint answers errors the same way. Registered for HTTP triggers only (Program.cs): queue functions
/// must keep throwing so the host retries and finally poisons their messages. It runs inside the ASP.NET Core
/// integration's proxying middleware, which executes the <see cref="Microsoft.AspNetCore.Mvc.IActionResult"/> set
/// here as the invocation result. Being where every HTTP answer is settled, it also measures each request
/// (<see cref="InferenceTelemetry.Instruments.HttpRequestDuration"/>).</summary>
public sealed class ProblemDetailsMiddleware(IOptions<ModelsOptions> models, InferenceTelemetry telemetry,
    ILogger<ProblemDetailsMiddleware> logger) : IFunctionsWorkerMiddleware
{
    /// <summary>Recorded for a caller that hung up before an answer (nginx's code for it).</summary>
    public const int ClientClosedRequest = 499;

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        var status = ClientClosedRequest;
        try
        {
            await next(context);
            status = StatusCodeOf(context.GetInvocationResult().Value);
        }
        catch (Exception ex) when (!IsCallerGone(context, ex))
        {
            var result = ApiResults.FromException(ex, TimeSpan.FromSeconds(models.Value.RetryAfterSeconds), logger);
            context.GetInvocationResult().Value = result;
            status = StatusCodeOf(result);
        }
        finally
        {
            telemetry.HttpRequestCompleted(context.FunctionDefinition.Name, context.GetHttpContext()?.Request.Method ?? "_OTHER",
                status, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The status an HTTP function's result sends: its own code, or 200 for results that set none.</summary>
    public static int StatusCodeOf(object? result) => result switch
    {
        JsonResponse json => json.StatusCode,
        IStatusCodeActionResult { StatusCode: { } code } => code,
        _ => StatusCodes.Status200OK,
    };

    public static bool IsHttpTrigger(FunctionContext context) =>
        context.FunctionDefinition.InputBindings.Values.Any(b => b.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase));

    /// <summary>Nobody is left to answer when the caller hung up; the exception then only ends the invocation.</summary>
    private static bool IsCallerGone(FunctionContext context, Exception ex) =>
        ex is OperationCanceledException && (context.GetHttpContext()?.RequestAborted.IsCancellationRequested ?? false);
}
