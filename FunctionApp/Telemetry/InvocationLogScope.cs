using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace ServerlessInference.Telemetry;

/// <summary>Puts the invocation id, function name and W3C trace id on every log line written while an invocation
/// runs (a logging scope flows into everything it awaits), so an operator can pull one request's or one chunk's lines
/// out of interleaved console or Application Insights logs.</summary>
public sealed class InvocationLogScope(ILogger<InvocationLogScope> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        using (Begin(logger, context.InvocationId, context.FunctionDefinition.Name, context.TraceContext?.TraceParent))
        {
            await next(context);
        }
    }

    public static IDisposable? Begin(ILogger logger, string invocationId, string functionName, string? traceParent) =>
        logger.BeginScope(new Dictionary<string, object?>
        {
            ["InvocationId"] = invocationId,
            ["FunctionName"] = functionName,
            ["TraceId"] = TraceId(traceParent),
        });

    /// <summary>The trace id of a W3C traceparent ("00-traceid-spanid-flags"); null when absent or malformed.</summary>
    public static string? TraceId(string? traceParent)
    {
        var parts = traceParent?.Split('-');
        return parts is { Length: 4 } && parts[1].Length == 32 ? parts[1] : null;
    }
}
