using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Compat;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;

namespace ServerlessInference.Functions;

/// <summary>DeepL's API v2 under /api/deepl/ (docs/api.md). Anonymous at the host, because DeepL clients send
/// <c>Authorization: DeepL-Auth-Key &lt;key&gt;</c>; every call's key is checked here (<see cref="CompatKeys"/>).</summary>
public sealed class DeepLFunctions(CompatTranslator translator, CompatKeys keys, LanguageRouter languages,
    TranslatedCharacters usage, IOptions<HttpOptions> http, IOptions<ModelsOptions> models, ILogger<DeepLFunctions> logger)
{
    [Function("DeepLTranslate")]
    public Task<IActionResult> Translate(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "deepl/v2/translate")] HttpRequest request,
        CancellationToken cancellationToken) =>
        AnswerAsync(request, async () =>
        {
            var parsed = DeepLApi.Parse(await CompatBody.ReadAsync(request, http.Value.MaxRequestBodyBytes, cancellationToken));
            var route = DeepLApi.Route(languages, parsed);
            var translation = await translator.TranslateAsync(route, parsed.Texts, parsed.Markup, DeepLApi.TelemetrySource,
                cancellationToken);
            return ApiResults.Json(StatusCodes.Status200OK, DeepLApi.Response(parsed, parsed.Texts, translation));
        }, cancellationToken);

    [Function("DeepLLanguages")]
    public Task<IActionResult> Languages(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "deepl/v2/languages")] HttpRequest request,
        CancellationToken cancellationToken) =>
        AnswerAsync(request, () => Task.FromResult<IActionResult>(ApiResults.Json(StatusCodes.Status200OK,
            DeepLApi.Languages(languages, CompatBody.FromQuery(request.Query).Single("type")))), cancellationToken);

    /// <summary>This instance's count since it started (<see cref="TranslatedCharacters"/>).</summary>
    [Function("DeepLUsage")]
    public Task<IActionResult> Usage(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "deepl/v2/usage")] HttpRequest request,
        CancellationToken cancellationToken) =>
        AnswerAsync(request, () => Task.FromResult<IActionResult>(ApiResults.Json(StatusCodes.Status200OK,
            new DeepLUsage(usage.Count, DeepLApi.CharacterLimit))), cancellationToken);

    private Task<IActionResult> AnswerAsync(HttpRequest request, Func<Task<IActionResult>> work, CancellationToken cancellationToken)
    {
        if (!keys.Enabled)
        {
            return Task.FromResult<IActionResult>(Error(StatusCodes.Status404NotFound, "Not found."));
        }

        if (!keys.Accepts(DeepLApi.Key(request.Headers)))
        {
            return Task.FromResult<IActionResult>(Error(StatusCodes.Status403Forbidden,
                $"Authorization failed: send the header 'Authorization: {DeepLApi.AuthScheme} <key>' with a valid key."));
        }

        return CompatResults.AnswerAsync(work, DeepLApi.Status, message => new DeepLError(message),
            TimeSpan.FromSeconds(models.Value.RetryAfterSeconds), logger, cancellationToken);
    }

    private static JsonResponse Error(int status, string message) => CompatResults.Error(status, new DeepLError(message));
}
