using System.Globalization;
using Microsoft.AspNetCore.Http;
using ServerlessInference.ModelHosting;
using ServerlessInference.Requests;

namespace ServerlessInference.Compat;

/// <summary>A LibreTranslate <c>POST /translate</c> request: <c>q</c> (one text or an array), <c>source</c>
/// (a code or "auto"), <c>target</c>, <c>format</c> (text|html), <c>alternatives</c>, <c>api_key</c>.</summary>
public sealed record LibreTranslateRequest(IReadOnlyList<string> Texts, bool Batch, string? Source, string Target, Markup Markup,
    int Alternatives);

public sealed record LibreTranslateResponse(string TranslatedText, IReadOnlyList<string>? Alternatives = null);

public sealed record LibreTranslateBatchResponse(IReadOnlyList<string> TranslatedText,
    IReadOnlyList<IReadOnlyList<string>>? Alternatives = null);

public sealed record LibreTranslateLanguage(string Code, string Name, IReadOnlyList<string> Targets);

public sealed record LibreTranslateError(string Error);

/// <summary>LibreTranslate's API (as its app.py and API docs define it) on this app's models: request fields,
/// language codes, answers and error statuses.</summary>
public static class LibreTranslateApi
{
    public const string TelemetrySource = "libretranslate";
    public const string KeyField = "api_key";

    /// <summary>LibreTranslate's own short codes, still sent by older clients.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["zt"] = "zh-Hant",
        ["pb"] = "pt-BR",
    };

    public static LibreTranslateRequest Parse(CompatBody body)
    {
        var q = body.Field("q");
        if (q is null || q.Values.Count == 0 || (!q.IsArray && q.Values[0].Length == 0))
        {
            throw Missing("q");
        }

        var source = body.Single("source") is { Length: > 0 } s ? s : throw Missing("source");
        var target = body.Single("target") is { Length: > 0 } t ? t : throw Missing("target");
        var markup = (body.Single("format") ?? "text").ToLowerInvariant() switch
        {
            "" or "text" => Markup.None,
            "html" => Markup.Html,
            var other => throw Bad($"{JsonRequest.Shown(other)} format is not supported"),
        };
        var alternatives = 0;
        if (body.Single("alternatives") is { } a && (!int.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out alternatives)
                                                      || alternatives > 100))
        {
            throw Bad("Invalid request: alternatives parameter is not a number");
        }

        return new LibreTranslateRequest(q.Values, q.IsArray,
            source.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : Code(source),
            Code(target), markup, alternatives);
    }

    public static LanguageRoute Route(LanguageRouter router, LibreTranslateRequest request)
    {
        if (request.Source is not null && !router.IsSource(request.Source))
        {
            throw Bad($"{request.Source} is not supported");
        }

        if (!router.IsTarget(request.Target))
        {
            throw Bad($"{request.Target} is not supported");
        }

        return router.Find(request.Source, request.Target)
               ?? throw Bad($"{LanguageNames.Of(request.Target)} ({request.Target}) is not available as a target language from " +
                            $"{LanguageNames.Of(request.Source!)} ({request.Source})");
    }

    /// <summary>The answer's shape follows <c>q</c>'s: a string for a string, an array for an array. No alternative
    /// translations are produced: <c>alternatives</c>, when asked for, is empty, as LibreTranslate answers for
    /// HTML. No <c>detectedLanguage</c> either: nothing is detected (docs/api.md).</summary>
    public static object Response(LibreTranslateRequest request, CompatTranslation translation)
    {
        var asked = request.Alternatives > 0;
        return request.Batch
            ? new LibreTranslateBatchResponse(translation.Texts,
                asked ? translation.Texts.Select(_ => (IReadOnlyList<string>)[]).ToList() : null)
            : new LibreTranslateResponse(translation.Texts[0], asked ? [] : null);
    }

    /// <summary>Every language a model reads, with what it can be translated into, then every language only written
    /// (no targets): clients check both <c>source</c> and <c>target</c> against the codes listed.</summary>
    public static IReadOnlyList<LibreTranslateLanguage> Languages(LanguageRouter router) =>
        router.Sources.Select(s => new LibreTranslateLanguage(s, LanguageNames.Of(s), router.TargetsOf(s)))
            .Concat(router.Targets.Where(t => !router.Sources.Contains(t, StringComparer.OrdinalIgnoreCase))
                .Select(t => new LibreTranslateLanguage(t, LanguageNames.Of(t), [])))
            .ToList();

    /// <summary>LibreTranslate answers 400 for every fault in a request, its size included (its "exceeds text
    /// limit"), 403 for a key, 429 to slow down (shedding load); the app's other statuses (503 while a model loads) pass.</summary>
    public static int Status(int status, bool busy) => status switch
    {
        _ when busy => StatusCodes.Status429TooManyRequests,
        StatusCodes.Status413PayloadTooLarge or StatusCodes.Status415UnsupportedMediaType => StatusCodes.Status400BadRequest,
        _ => status,
    };

    private static string Code(string code)
    {
        var known = Aliases.GetValueOrDefault(code, code);
        return ModelLanguages.Canonical(known) ?? throw Bad($"{JsonRequest.Shown(code)} is not supported");
    }

    private static RequestRejectedException Missing(string name) => Bad($"Invalid request: missing {name} parameter");

    private static RequestRejectedException Bad(string message) => new(StatusCodes.Status400BadRequest, message);
}
