using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using ServerlessInference.ModelHosting;
using ServerlessInference.Requests;

namespace ServerlessInference.Compat;

/// <summary>A DeepL <c>POST /v2/translate</c> request: <c>text</c> (repeated, or a JSON array), <c>target_lang</c>,
/// <c>source_lang</c>, <c>tag_handling</c>, <c>show_billed_characters</c>.</summary>
public sealed record DeepLRequest(IReadOnlyList<string> Texts, string? Source, string Target, Markup Markup, bool ShowBilledCharacters);

public sealed record DeepLTranslation(
    [property: JsonPropertyName("detected_source_language")] string DetectedSourceLanguage,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("billed_characters")] int? BilledCharacters);

public sealed record DeepLResponse([property: JsonPropertyName("translations")] IReadOnlyList<DeepLTranslation> Translations);

public sealed record DeepLLanguage(
    [property: JsonPropertyName("language")] string Language,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("supports_formality")] bool? SupportsFormality);

public sealed record DeepLUsage(
    [property: JsonPropertyName("character_count")] long CharacterCount,
    [property: JsonPropertyName("character_limit")] long CharacterLimit);

public sealed record DeepLError([property: JsonPropertyName("message")] string Message);

/// <summary>DeepL's API v2 (as its documentation and its official client deepl-node use it) on this app's models.
/// Language codes are upper case (<c>EN</c>, <c>ZH</c>, <c>ZH-HANS</c>), compared case-insensitively.</summary>
public static class DeepLApi
{
    public const string TelemetrySource = "deepl";
    public const string AuthScheme = "DeepL-Auth-Key";

    /// <summary>What <c>/v2/usage</c> reports as the limit: no quota is enforced, so a limit no one reaches, the
    /// way DeepL reports an account without a cost limit.</summary>
    public const long CharacterLimit = 1_000_000_000_000;

    /// <summary>Features whose absence would change the translation silently; everything else DeepL takes
    /// (formality, split_sentences, preserve_formatting, context, model_type, ...) is accepted and has no effect.</summary>
    private static readonly string[] Unsupported = ["glossary_id", "glossary_ids"];

    /// <summary>The key from <c>Authorization: DeepL-Auth-Key &lt;key&gt;</c>; null when the header is absent or
    /// has another scheme.</summary>
    public static string? Key(IHeaderDictionary headers)
    {
        var value = headers.Authorization.ToString();
        return value.StartsWith(AuthScheme + " ", StringComparison.OrdinalIgnoreCase) ? value[(AuthScheme.Length + 1)..].Trim() : null;
    }

    public static DeepLRequest Parse(CompatBody body)
    {
        var text = body.Field("text");
        if (text is null || text.Values.Count == 0)
        {
            throw Bad("Parameter 'text' not specified.");
        }

        var target = body.Single("target_lang") is { Length: > 0 } t
            ? ModelLanguages.Canonical(t) ?? throw Bad("Value for 'target_lang' not supported.")
            : throw Bad("Parameter 'target_lang' not specified.");
        var source = body.Single("source_lang") is { Length: > 0 } s
            ? ModelLanguages.Canonical(s) ?? throw Bad("Value for 'source_lang' not supported.")
            : null;
        var markup = (body.Single("tag_handling") ?? "").ToLowerInvariant() switch
        {
            "" => Markup.None,
            "html" => Markup.Html,
            "xml" => Markup.Xml,
            _ => throw Bad("Value for 'tag_handling' not supported."),
        };
        if (Unsupported.FirstOrDefault(f => body.Field(f) is not null) is { } unsupported)
        {
            throw Bad($"Parameter '{unsupported}' is not supported: this server has no glossaries.");
        }

        var billed = body.Single("show_billed_characters") is "1" or "true" or "True";
        return new DeepLRequest(text.Values, source, target, markup, billed);
    }

    public static LanguageRoute Route(LanguageRouter router, DeepLRequest request)
    {
        if (request.Source is not null && !router.IsSource(request.Source))
        {
            throw Bad("Value for 'source_lang' not supported.");
        }

        return router.Find(request.Source, request.Target) ?? throw Bad("Value for 'target_lang' not supported.");
    }

    /// <summary><c>detected_source_language</c> is the source language of the model used: the caller's
    /// <c>source_lang</c> when given (as DeepL echoes it), else the model's, since nothing is detected.</summary>
    public static DeepLResponse Response(DeepLRequest request, IReadOnlyList<string> sources, CompatTranslation translation) =>
        new(translation.Texts.Select((text, i) => new DeepLTranslation(Upper(ModelLanguages.Primary(translation.Route.Source)), text,
            request.ShowBilledCharacters ? sources[i].Length : null)).ToList());

    /// <summary><c>type=source</c> (the default) or <c>type=target</c>. Targets list a language's bare code (ZH)
    /// beside its variants (ZH-HANS), as DeepL does, when the bare code routes (see <see cref="LanguageRouter.Find"/>).</summary>
    public static IReadOnlyList<DeepLLanguage> Languages(LanguageRouter router, string? type)
    {
        switch ((type ?? "source").ToLowerInvariant())
        {
            case "source":
                return router.Sources.Select(ModelLanguages.Primary).Distinct(StringComparer.OrdinalIgnoreCase)
                    .Select(s => new DeepLLanguage(Upper(s), LanguageNames.Of(s), null)).ToList();
            case "target":
                var codes = router.Targets.SelectMany(t => new[] { ModelLanguages.Primary(t), t })
                    .Distinct(StringComparer.OrdinalIgnoreCase)
                    .Where(router.IsTarget);
                return codes.Select(c => new DeepLLanguage(Upper(c), LanguageNames.Of(c), false)).ToList();
            default:
                throw Bad("Value for 'type' not supported.");
        }
    }

    /// <summary>DeepL's statuses are the app's own (400, 403, 413, 503 with Retry-After), except for shedding load,
    /// which DeepL answers with 429 "Too many requests" and its clients retry with back-off.</summary>
    public static int Status(int status, bool busy) => busy ? StatusCodes.Status429TooManyRequests : status;

    private static string Upper(string code) => code.ToUpperInvariant();

    private static RequestRejectedException Bad(string message) => new(StatusCodes.Status400BadRequest, message);
}
