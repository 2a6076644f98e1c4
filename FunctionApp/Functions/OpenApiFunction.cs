using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace ServerlessInference.Functions;

/// <summary>GET /api/openapi.json: the hand-maintained OpenAPI 3.1 document (FunctionApp/OpenApi/openapi.json,
/// embedded), which FunctionApp.Tests holds to the functions both ways. Its server URL is relative ("/api"), so the
/// document is right behind any host name without being rewritten per request.</summary>
public sealed class OpenApiFunction
{
    public const string ResourceName = "ServerlessInference.OpenApi.openapi.json";

    /// <summary>The document's bytes as committed: re-serialising would escape its quotes and non-ASCII text.</summary>
    public static byte[] Document => Embedded.Value;

    private static readonly Lazy<byte[]> Embedded = new(() =>
    {
        using var stream = typeof(OpenApiFunction).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    [Function("OpenApi")]
    public IActionResult Run([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest request) =>
        new DocumentResult();

    /// <summary>Written directly, like <see cref="JsonResponse"/>, so it needs no MVC executor services.</summary>
    private sealed class DocumentResult : IActionResult
    {
        public async Task ExecuteResultAsync(ActionContext context)
        {
            var response = context.HttpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json; charset=utf-8";
            response.ContentLength = Document.Length;
            await response.Body.WriteAsync(Document, context.HttpContext.RequestAborted);
        }
    }
}
