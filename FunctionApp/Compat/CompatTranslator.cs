using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Markup;
using ServerlessInference.Requests;
using ServerlessInference.Serving;

namespace ServerlessInference.Compat;

/// <summary>How a compatible API's texts are marked up: plain text, or HTML / XML whose text is translated and whose
/// tags are kept (LibreTranslate's <c>format=html</c>, DeepL's <c>tag_handling</c>).</summary>
public enum Markup
{
    None,
    Html,
    Xml,
}

/// <summary>The translations of a compatible API's texts, in order, and where they were routed.</summary>
public sealed record CompatTranslation(IReadOnlyList<string> Texts, LanguageRoute Route);

/// <summary>Translation for the compatible APIs, through <see cref="TranslationService"/> as an interactive caller
/// with the app's own per-request limits (<see cref="RequestLimitsOptions"/>).</summary>
public sealed class CompatTranslator(TranslationService translation, IOptions<RequestLimitsOptions> limits)
{
    /// <exception cref="RequestRejectedException">413: more texts or characters than one request may send;
    /// 400: markup, not supported yet.</exception>
    /// <param name="source">Telemetry's name for the caller ("libretranslate", "deepl").</param>
    public async Task<CompatTranslation> TranslateAsync(LanguageRoute route, IReadOnlyList<string> texts, Markup markup,
        string source, CancellationToken cancellationToken)
    {
        CheckLimits(texts);
        Task<IReadOnlyList<string>> Plain(IReadOnlyList<string> plain, CancellationToken ct) =>
            TranslatePlainAsync(route, plain, source, ct);
        var translated = markup == Markup.None
            ? await Plain(texts, cancellationToken)
            : await TranslateMarkupAsync(texts, markup == Markup.Xml, Plain, cancellationToken);
        return new CompatTranslation(translated, route);
    }

    /// <summary>The one place marked-up texts go (<see cref="MarkupDocument"/>, <see cref="HtmlMarkup"/>'s rules): the
    /// segments of every document go to the model in one request, so they batch together.</summary>
    private static async Task<IReadOnlyList<string>> TranslateMarkupAsync(IReadOnlyList<string> documents, bool xml,
        Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<string>>> translate, CancellationToken cancellationToken)
    {
        List<MarkupDocument> parsed;
        try
        {
            parsed = documents.Select(document => MarkupDocument.Parse(document, xml)).ToList();
        }
        catch (MarkupFormatException e)
        {
            throw new RequestRejectedException(StatusCodes.Status400BadRequest, e.Message);
        }

        var segments = parsed.SelectMany(d => d.Segments).ToList();
        var translated = segments.Count == 0 ? [] : await translate(segments, cancellationToken);
        var results = new string[parsed.Count];
        var offset = 0;
        for (var i = 0; i < parsed.Count; i++)
        {
            var count = parsed[i].Segments.Count;
            results[i] = parsed[i].Complete([.. translated.Skip(offset).Take(count)]);
            offset += count;
        }

        return results;
    }

    /// <summary>Blank texts come back as they are, as LibreTranslate answers text it cannot translate; the rest go to
    /// the model in one request.</summary>
    private async Task<IReadOnlyList<string>> TranslatePlainAsync(LanguageRoute route, IReadOnlyList<string> texts, string source,
        CancellationToken cancellationToken)
    {
        var work = texts.Select((text, index) => (text, index)).Where(t => !TextChecks.IsBlank(t.text)).ToList();
        var results = texts.ToArray();
        if (work.Count == 0)
        {
            return results;
        }

        var request = new TranslationRequest(work.Select(w => w.text).ToList()) { TargetLanguage = route.TargetToken };
        var outcome = await translation.TranslateAsync(route.Model, request, source, WorkPriority.Interactive, cancellationToken);
        for (var i = 0; i < work.Count; i++)
        {
            results[work[i].index] = outcome.Result.Translations[i].Text;
        }
        return results;
    }

    private void CheckLimits(IReadOnlyList<string> texts)
    {
        var limit = limits.Value;
        TextChecks.RejectOverLimits(texts, limit.MaxTexts, limit.MaxCharacters);
    }
}
