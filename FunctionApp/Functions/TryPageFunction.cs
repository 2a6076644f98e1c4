using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.Azure.Functions.Worker;
using ServerlessInference.Requests;
using ServerlessInference.TryPage;

namespace ServerlessInference.Functions;

/// <summary>GET /api/try: a page to try the API from a browser (text in, translation out), and its script and style
/// sheet at /api/try/app.js and /api/try/style.css. Anonymous, as the page holds no secret; where /api/translate
/// needs a function key the page asks for one.</summary>
public sealed class TryPageFunction
{
    [Function("TryPage")]
    public IActionResult Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "try/{file?}")] HttpRequest request, string? file)
    {
        var page = TryPageAssets.Find(file)
                   ?? throw new RequestRejectedException(StatusCodes.Status404NotFound, "The try page has no such file.");
        return new PageFileResult(page);
    }
}

/// <summary>One page file with the headers that keep the browser from running anything else: the policy, no MIME
/// sniffing, no referrer (a key in a URL stays put), and revalidation so a new deployment shows at once.</summary>
public sealed class PageFileResult(PageFile file) : IActionResult, IStatusCodeActionResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        response.Headers.ContentSecurityPolicy = TryPageAssets.ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-cache";
        await response.Body.WriteAsync(file.Content, context.HttpContext.RequestAborted);
    }
}
