using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Options;

namespace ServerlessInference.Functions;

/// <summary>Turns what an HTTP function throws into its problem+json answer, so functions read parse → call → map
/// and every endpoint answers errors the same way. Registered for HTTP triggers only (Program.cs): queue functions
/// must keep throwing so the host retries and finally poisons their messages. It runs inside the ASP.NET Core
/// integration's proxying middleware, which executes the <see cref="Microsoft.AspNetCore.Mvc.IActionResult"/> set
/// here as the invocation result.</summary>
public sealed class ProblemDetailsMiddleware(IOptions<ModelsOptions> models, ILogger<ProblemDetailsMiddleware> logger)
    : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!IsCallerGone(context, ex))
        {
            context.GetInvocationResult().Value =
                ApiResults.FromException(ex, TimeSpan.FromSeconds(models.Value.RetryAfterSeconds), logger);
        }
    }

    public static bool IsHttpTrigger(FunctionContext context) =>
        context.FunctionDefinition.InputBindings.Values.Any(b => b.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase));

    /// <summary>Nobody is left to answer when the caller hung up; the exception then only ends the invocation.</summary>
    private static bool IsCallerGone(FunctionContext context, Exception ex) =>
        ex is OperationCanceledException && (context.GetHttpContext()?.RequestAborted.IsCancellationRequested ?? false);
}
