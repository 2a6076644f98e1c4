using ServerlessInference.ModelHosting;

namespace ServerlessInference.Compat;

/// <summary>Where a compatible API's language pair goes: the catalog model, the language it reads, the language tag
/// it writes and the target token that selects it (null: the model's own default).</summary>
public sealed record LanguageRoute(string Model, string Source, string Target, string? TargetToken);

/// <summary>Maps the language codes translation clients send (ISO 639-1, with a script or region where it
/// matters: <c>en</c>, <c>zh</c>, <c>zh-Hans</c>) onto the catalog, from each entry's
/// <see cref="ModelCatalogEntry.Languages"/>. The default model is tried first, then the catalog in order.</summary>
public sealed class LanguageRouter
{
    private readonly IReadOnlyList<(string Model, ModelLanguages Languages)> _models;

    public LanguageRouter(ModelCatalog catalog)
    {
        _models = catalog.Entries
            .OrderBy(e => e.Name.Equals(catalog.DefaultModel, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .Select(e => (e.Name, Languages: ModelLanguages.Of(e)))
            .Where(m => m.Languages is not null)
            .Select(m => (m.Name, m.Languages!))
            .ToList();
    }

    /// <summary>Languages some model reads, in catalog order.</summary>
    public IReadOnlyList<string> Sources => _models.Select(m => m.Languages.Source).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Languages some model writes, in catalog order.</summary>
    public IReadOnlyList<string> Targets => _models.SelectMany(m => m.Languages.Targets.Select(t => t.Code))
        .Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>What <paramref name="source"/> can be translated into.</summary>
    public IReadOnlyList<string> TargetsOf(string source) => _models
        .Where(m => SameSource(m.Languages.Source, source))
        .SelectMany(m => m.Languages.Targets.Select(t => t.Code))
        .Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>Whether <paramref name="code"/> is a language some model reads.</summary>
    public bool IsSource(string code) => _models.Any(m => SameSource(m.Languages.Source, code));

    /// <summary>Whether <paramref name="code"/> names a language some model writes.</summary>
    public bool IsTarget(string code) => _models.Any(m => MatchTarget(m.Languages, code) is not null);

    /// <summary>The first model that reads <paramref name="source"/> (any language when null: "auto", which detects
    /// nothing and takes the first model that writes the target) and writes <paramref name="target"/>; null when
    /// none does. A target without a script or region (<c>zh</c>) also matches a listed variant of it: Simplified
    /// for Chinese, as LibreTranslate and DeepL read <c>zh</c>, else the first listed.</summary>
    public LanguageRoute? Find(string? source, string target)
    {
        foreach (var (model, languages) in _models)
        {
            if (source is not null && !SameSource(languages.Source, source))
            {
                continue;
            }

            if (MatchTarget(languages, target) is { } match)
            {
                return new LanguageRoute(model, languages.Source, match.Code, match.Token);
            }
        }
        return null;
    }

    private static bool SameSource(string declared, string requested) =>
        ModelLanguages.Primary(declared).Equals(ModelLanguages.Primary(requested), StringComparison.OrdinalIgnoreCase);

    private static ModelTarget? MatchTarget(ModelLanguages languages, string requested)
    {
        var exact = languages.Targets.FirstOrDefault(t => t.Code.Equals(requested, StringComparison.OrdinalIgnoreCase));
        if (exact is not null || requested.Contains('-'))
        {
            return exact;
        }

        var variants = languages.Targets.Where(t => ModelLanguages.Primary(t.Code).Equals(requested, StringComparison.OrdinalIgnoreCase))
            .ToList();
        return variants.FirstOrDefault(t => t.Code.Equals(requested + "-Hans", StringComparison.OrdinalIgnoreCase))
               ?? variants.FirstOrDefault();
    }
}
