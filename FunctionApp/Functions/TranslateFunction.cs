using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Markup;
using ServerlessInference.Requests;
using ServerlessInference.Serving;

namespace ServerlessInference.Functions;

public sealed record TranslateResponse(string Model, IReadOnlyList<TranslatedText> Translations, double DurationMs);

public sealed record TranslatedText(string Text, int InputTokens, int OutputTokens);

/// <summary>POST /api/translate: <c>{"text"}</c> or <c>{"texts"}</c>, optional model, beams, maxNewTokens,
/// targetLanguage, format (text or html). Errors
/// are thrown and answered by <see cref="ProblemDetailsMiddleware"/>.</summary>
public sealed class TranslateFunction(MarkupTranslationService translation, IOptions<RequestLimitsOptions> limits,
    IOptions<HttpOptions> http)
{
    private static readonly string[] Fields = ["text", "texts", "model", "beams", "maxNewTokens", "targetLanguage", "format"];

    [Function("Translate")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "translate")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var (model, translationRequest, format) = await ParseAsync(request, cancellationToken);
        var outcome = await translation.TranslateAsync(model, translationRequest, format, "http", WorkPriority.Interactive,
            cancellationToken);
        return ApiResults.Json(StatusCodes.Status200OK, new TranslateResponse(outcome.Model,
            outcome.Translations.Select(t => new TranslatedText(t.Text, t.InputTokens, t.OutputTokens)).ToList(),
            Math.Round(outcome.Duration.TotalMilliseconds, 1)));
    }

    private async Task<(string? Model, TranslationRequest Request, TextFormat Format)> ParseAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = limits.Value;
        using var document = await JsonRequest.ReadObjectAsync(request, http.Value.MaxRequestBodyBytes, cancellationToken);
        var root = document.RootElement;
        JsonRequest.RejectUnknownFields(root, Fields);
        var texts = JsonRequest.Texts(root) ?? throw JsonRequest.BadRequest("Send 'text' (a string) or 'texts' (an array of strings).");
        TextChecks.RejectOverLimits(texts, limit.MaxTexts, limit.MaxCharacters);

        TextChecks.RejectBlank(texts);
        var format = Format(root);
        var (model, translationRequest) = TranslationRequestReader.Read(root, texts);
        return (model, translationRequest, format);
    }

    private static TextFormat Format(JsonElement root) => JsonRequest.OptionalString(root, "format") switch
    {
        null or "text" => TextFormat.Text,
        "html" => TextFormat.Html,
        var other => throw JsonRequest.BadRequest($"'format' must be 'text' or 'html', not '{JsonRequest.Shown(other)}'."),
    };
}
