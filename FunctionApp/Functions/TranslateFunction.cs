using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Models;
using ServerlessInference.Options;
using ServerlessInference.Translation;

namespace ServerlessInference.Functions;

public sealed record TranslateResponse(string Model, IReadOnlyList<TranslatedText> Translations, double DurationMs);

public sealed record TranslatedText(string Text, int InputTokens, int OutputTokens);

/// <summary>POST /api/translate: <c>{"text"}</c> or <c>{"texts"}</c>, optional model, beams, maxNewTokens.</summary>
public sealed class TranslateFunction(TranslationService translation, IOptions<TranslationLimitsOptions> limits,
    ILogger<TranslateFunction> logger)
{
    private static readonly string[] Fields = ["text", "texts", "model", "beams", "maxNewTokens"];

    [Function("Translate")]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "translate")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            var (model, texts, options) = await ParseAsync(request, cancellationToken);
            var outcome = await translation.TranslateAsync(model, texts, options, "http", cancellationToken);
            return ApiResults.Json(StatusCodes.Status200OK, new TranslateResponse(outcome.Model,
                outcome.Result.Translations.Select(t => new TranslatedText(t.Text, t.InputTokens, t.OutputTokens)).ToList(),
                Math.Round(outcome.Duration.TotalMilliseconds, 1)));
        }
        catch (RequestRejectedException rejected)
        {
            return ApiResults.Problem(rejected.Status, rejected.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiResults.FromException(ex, logger);
        }
    }

    private async Task<(string? Model, List<string> Texts, TranslationOptions Options)> ParseAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = limits.Value;
        // Six bytes per character covers \uXXXX escapes; the slack covers field names and punctuation.
        using var document = await JsonRequest.ReadObjectAsync(request, (long)limit.MaxCharacters * 6 + 16384, cancellationToken);
        var root = document.RootElement;
        JsonRequest.RejectUnknownFields(root, Fields);
        var texts = JsonRequest.Texts(root) ?? throw JsonRequest.BadRequest("Send 'text' (a string) or 'texts' (an array of strings).");
        if (texts.Count > limit.MaxTexts)
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{texts.Count} texts exceed the limit of {limit.MaxTexts} per request.");
        var characters = texts.Sum(t => (long)t.Length);
        if (characters > limit.MaxCharacters)
            throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                $"{characters} characters exceed the limit of {limit.MaxCharacters} per request.");
        for (var i = 0; i < texts.Count; i++)
            if (string.IsNullOrWhiteSpace(texts[i]))
                throw JsonRequest.BadRequest(texts.Count == 1 ? "The text is empty." : $"'texts[{i}]' is empty.");
        var (model, options) = GenerationParameters.Parse(root, limit);
        return (model, texts, options);
    }
}

/// <summary>The generation fields shared by /translate and /jobs.</summary>
public static class GenerationParameters
{
    public static (string? Model, TranslationOptions Options) Parse(JsonElement root, TranslationLimitsOptions limits)
    {
        var model = JsonRequest.OptionalString(root, "model");
        var options = new TranslationOptions
        {
            Beams = JsonRequest.OptionalInt(root, "beams", 1, limits.MaxBeams),
            MaxNewTokens = JsonRequest.OptionalInt(root, "maxNewTokens", 1, TranslationLimitsOptions.MaxNewTokensLimit),
        };
        return (model, options);
    }
}
