using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Serving;

namespace ServerlessInference.Markup;

/// <summary>How a caller's texts are to be read.</summary>
public enum TextFormat
{
    /// <summary>Plain text, translated as it is.</summary>
    Text,

    /// <summary>HTML fragments, translated with <see cref="HtmlMarkup"/>'s rules.</summary>
    Html,
}

public sealed record MarkupTranslation(string Text, int InputTokens, int OutputTokens);

public sealed record MarkupOutcome(string Model, IReadOnlyList<MarkupTranslation> Translations, TimeSpan Duration);

/// <summary>Translates a request's texts in the caller's format through <see cref="TranslationService"/>. For HTML,
/// the segments of all texts go to the engine as one request (one model, the same options), so they batch together,
/// and each text's token counts are the sums over its segments.</summary>
public sealed class MarkupTranslationService(TranslationService translation)
{
    /// <inheritdoc cref="TranslationService.TranslateAsync"/>
    public async Task<MarkupOutcome> TranslateAsync(string? model, TranslationRequest request, TextFormat format, string source,
        WorkPriority priority, CancellationToken cancellationToken)
    {
        if (format == TextFormat.Text)
        {
            var plain = await translation.TranslateAsync(model, request, source, priority, cancellationToken);
            return new MarkupOutcome(plain.Model,
                [.. plain.Result.Translations.Select(t => new MarkupTranslation(t.Text, t.InputTokens, t.OutputTokens))],
                plain.Duration);
        }

        var documents = request.Texts.Select(text => MarkupDocument.Parse(text, xml: false)).ToList();
        var segments = documents.SelectMany(d => d.Segments).ToList();
        if (segments.Count == 0)
        {
            // Nothing but code, images without alt text and the like: the model is still checked, as for any call.
            var (name, _) = await translation.ValidateAsync(model, request, cancellationToken);
            return new MarkupOutcome(name, [.. documents.Select(d => new MarkupTranslation(d.Complete([]), 0, 0))], TimeSpan.Zero);
        }

        var outcome = await translation.TranslateAsync(model, request with { Texts = segments }, source, priority, cancellationToken);
        var results = new List<MarkupTranslation>(documents.Count);
        var offset = 0;
        foreach (var document in documents)
        {
            var parts = outcome.Result.Translations.Skip(offset).Take(document.Segments.Count).ToList();
            offset += parts.Count;
            results.Add(new MarkupTranslation(document.Complete([.. parts.Select(p => p.Text)]),
                parts.Sum(p => p.InputTokens), parts.Sum(p => p.OutputTokens)));
        }
        return new MarkupOutcome(outcome.Model, results, outcome.Duration);
    }
}
