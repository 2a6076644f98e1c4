using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ServerlessInference.Models;
using ServerlessInference.Options;
using ServerlessInference.Serving;
using ServerlessInference.Translation;

namespace ServerlessInference.Functions;

public sealed record TranslateResponse(string Model, IReadOnlyList<TranslatedText> Translations, double DurationMs);

public sealed record TranslatedText(string Text, int InputTokens, int OutputTokens);

/// <summary>POST /api/translate: <c>{"text"}</c> or <c>{"texts"}</c>, optional model, beams, maxNewTokens,
/// targetLanguage. Errors
/// are thrown and answered by <see cref="ProblemDetailsMiddleware"/>.</summary>
public sealed class TranslateFunction(TranslationService translation, IOptions<TranslationLimitsOptions> limits,
    IOptions<MarianTranslatorOptions> engine, IOptions<HttpOptions> http)
{
    private static readonly string[] Fields = ["text", "texts", "model", "beams", "maxNewTokens", "targetLanguage"];

    [Function("Translate")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "translate")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var (model, texts, options) = await ParseAsync(request, cancellationToken);
        var outcome = await translation.TranslateAsync(model, texts, options, "http", WorkPriority.Interactive, cancellationToken);
        return ApiResults.Json(StatusCodes.Status200OK, new TranslateResponse(outcome.Model,
            outcome.Result.Translations.Select(t => new TranslatedText(t.Text, t.InputTokens, t.OutputTokens)).ToList(),
            Math.Round(outcome.Duration.TotalMilliseconds, 1)));
    }

    private async Task<(string? Model, List<string> Texts, TranslationOptions Options)> ParseAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = limits.Value;
        using var document = await JsonRequest.ReadObjectAsync(request, http.Value.MaxRequestBodyBytes, cancellationToken);
        var root = document.RootElement;
        JsonRequest.RejectUnknownFields(root, Fields);
        var texts = JsonRequest.Texts(root) ?? throw JsonRequest.BadRequest("Send 'text' (a string) or 'texts' (an array of strings).");
        if (texts.Count > limit.MaxTexts)
        {
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{texts.Count} texts exceed the limit of {limit.MaxTexts} per request.");
        }

        var characters = texts.Sum(t => (long)t.Length);
        if (characters > limit.MaxCharacters)
        {
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{characters} characters exceed the limit of {limit.MaxCharacters} per request.");
        }

        TextChecks.RejectBlank(texts);
        var (model, options) = GenerationParameters.Parse(root, engine.Value);
        return (model, texts, options);
    }
}

/// <summary>The generation fields shared by /translate and /jobs. Ranges that depend on the model (its
/// max_length) are checked by <see cref="TranslationService"/> once the model is known.</summary>
public static class GenerationParameters
{
    public static (string? Model, TranslationOptions Options) Parse(JsonElement root, MarianTranslatorOptions engine)
    {
        var model = JsonRequest.OptionalModel(root);
        var options = new TranslationOptions
        {
            Beams = JsonRequest.OptionalInt(root, "beams", 1, engine.MaxBeams),
            MaxNewTokens = JsonRequest.OptionalInt(root, "maxNewTokens", 1, TranslationLimitsOptions.MaxNewTokensLimit),
            TargetLanguage = TargetLanguage(root),
        };
        return (model, options);
    }

    /// <summary>The code's form is checked here; whether the model has it, once the model is known.</summary>
    private static string? TargetLanguage(JsonElement root)
    {
        var code = JsonRequest.OptionalString(root, "targetLanguage");
        return code is null || TargetLanguageCode.IsValid(code)
            ? code
            : throw JsonRequest.BadRequest($"'targetLanguage' {TargetLanguageCode.Rule}");
    }
}

/// <summary>Checks on caller texts shared by /translate and /jobs.</summary>
public static class TextChecks
{
    /// <summary>A text with nothing left to translate once the engine removes control characters is as blank as
    /// an empty one, and is rejected the same way.</summary>
    public static bool IsBlank(string text) => string.IsNullOrWhiteSpace(TextSegmenter.Clean(text));

    public static void RejectBlank(IReadOnlyList<string> texts)
    {
        for (var i = 0; i < texts.Count; i++)
        {
            if (IsBlank(texts[i]))
            {
                throw JsonRequest.BadRequest(texts.Count == 1 ? "The text is empty." : $"'texts[{i}]' is empty.");
            }
        }
    }
}
