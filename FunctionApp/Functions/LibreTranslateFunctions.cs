using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Compat;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Functions;

/// <summary>LibreTranslate's API under /api/libretranslate/ (docs/api.md). Anonymous at the host, because
/// LibreTranslate clients send their key as <c>api_key</c> in the body; the key is checked here
/// (<see cref="CompatKeys"/>). No <c>/detect</c>: the app identifies no language (docs/api.md says why).</summary>
public sealed class LibreTranslateFunctions(CompatTranslator translator, CompatKeys keys, LanguageRouter languages,
    IOptions<HttpOptions> http, IOptions<ModelsOptions> models, ILogger<LibreTranslateFunctions> logger)
{
    [Function("LibreTranslateTranslate")]
    public Task<IActionResult> Translate(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "libretranslate/translate")] HttpRequest request,
        CancellationToken cancellationToken) =>
        AnswerAsync(async () =>
        {
            var body = await CompatBody.ReadAsync(request, http.Value.MaxRequestBodyBytes, cancellationToken);
            if (!keys.Accepts(body.Single(LibreTranslateApi.KeyField)))
            {
                return Error(StatusCodes.Status403Forbidden, "Invalid API key");
            }

            var parsed = LibreTranslateApi.Parse(body);
            var route = LibreTranslateApi.Route(languages, parsed);
            var translation = await translator.TranslateAsync(route, parsed.Texts, parsed.Markup, LibreTranslateApi.TelemetrySource,
                cancellationToken);
            return ApiResults.Json(StatusCodes.Status200OK, LibreTranslateApi.Response(parsed, translation));
        }, cancellationToken);

    /// <summary>Without a key, as LibreTranslate serves it: clients list languages before they have one.</summary>
    [Function("LibreTranslateLanguages")]
    public Task<IActionResult> Languages(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "libretranslate/languages")] HttpRequest request,
        CancellationToken cancellationToken) =>
        AnswerAsync(() => Task.FromResult<IActionResult>(
            ApiResults.Json(StatusCodes.Status200OK, LibreTranslateApi.Languages(languages))), cancellationToken);

    private Task<IActionResult> AnswerAsync(Func<Task<IActionResult>> work, CancellationToken cancellationToken) =>
        keys.Enabled
            ? CompatResults.AnswerAsync(work, LibreTranslateApi.Status, message => new LibreTranslateError(message),
                TimeSpan.FromSeconds(models.Value.RetryAfterSeconds), logger, cancellationToken)
            : Task.FromResult<IActionResult>(Error(StatusCodes.Status404NotFound, "Not found"));

    private static JsonResponse Error(int status, string message) => CompatResults.Error(status, new LibreTranslateError(message));
}
