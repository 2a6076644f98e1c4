using System.Text.RegularExpressions;

namespace ServerlessInference.ModelHosting;

/// <summary>One language a model translates into: its language tag (<c>zh-Hans</c>) and, for a multi-target model,
/// the target-language token that selects it (<c>cmn_Hans</c>); null where the model has one target and no
/// tokens.</summary>
public sealed record ModelTarget(string Code, string? Token);

/// <summary>What a catalog entry's <see cref="ModelCatalogEntry.Languages"/> declares: the language the model reads
/// and the languages it writes, as language tags (ISO 639-1, optionally with a script or region subtag). The
/// translation-API-compatible endpoints route requests by them; the app's own API does not use them.</summary>
public sealed partial record ModelLanguages(string Source, IReadOnlyList<ModelTarget> Targets)
{
    public const string Rule = "must read like 'en>zh' or 'en>zh-Hans=cmn_Hans,zh-Hant=cmn_Hant': a source language, '>', " +
                               "then target languages separated by ','; each a language code such as 'en' or 'zh-Hans', " +
                               "each target optionally followed by '=' and the model's target-language token.";

    /// <summary>What the shipped model (<see cref="ModelsOptions.DefaultModelName"/>) translates, declared for it when
    /// its entry declares nothing: English into Simplified Chinese, without target tokens.</summary>
    public static readonly ModelLanguages EmbeddedModel = new("en", [new ModelTarget("zh-Hans", null)]);

    /// <summary>The entry's declared languages; the embedded model's when the shipped model's entry declares none;
    /// null for any other entry that declares none (it is then not offered by the compatible APIs).</summary>
    /// <exception cref="FormatException">The value breaks <see cref="Rule"/> (the options validator reports it at
    /// start-up, so a running app never sees one).</exception>
    public static ModelLanguages? Of(ModelCatalogEntry entry)
    {
        if (string.IsNullOrWhiteSpace(entry.Languages))
        {
            return string.Equals(entry.Name, ModelsOptions.DefaultModelName, StringComparison.OrdinalIgnoreCase) ? EmbeddedModel : null;
        }

        return TryParse(entry.Languages, out var languages) ? languages : throw new FormatException(Rule);
    }

    public static bool TryParse(string value, out ModelLanguages languages)
    {
        languages = null!;
        var arrow = value.Split('>');
        if (arrow.Length != 2 || Canonical(arrow[0].Trim()) is not { } source)
        {
            return false;
        }

        var targets = new List<ModelTarget>();
        foreach (var part in arrow[1].Split(','))
        {
            var pair = part.Split('=');
            if (pair.Length > 2 || Canonical(pair[0].Trim()) is not { } code)
            {
                return false;
            }

            var token = pair.Length == 2 ? pair[1].Trim() : null;
            if (token is not null && !TargetLanguageCode.IsValid(token))
            {
                return false;
            }

            if (targets.Any(t => t.Code.Equals(code, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            targets.Add(new ModelTarget(code, token));
        }
        languages = new ModelLanguages(source, targets);
        return true;
    }

    /// <summary>A language tag in its usual spelling (<c>zh-Hans</c>, <c>pt-BR</c>, <c>en</c>), or null when the text
    /// is not one: a two- or three-letter language, optionally '-' and a four-letter script or two-letter region.</summary>
    public static string? Canonical(string tag)
    {
        var match = TagPattern().Match(tag);
        if (!match.Success)
        {
            return null;
        }

        var language = match.Groups[1].Value.ToLowerInvariant();
        var sub = match.Groups[2].Value;
        return sub.Length switch
        {
            0 => language,
            4 => $"{language}-{char.ToUpperInvariant(sub[0])}{sub[1..].ToLowerInvariant()}",
            _ => $"{language}-{sub.ToUpperInvariant()}",
        };
    }

    /// <summary>The language without its script or region: <c>zh</c> for <c>zh-Hans</c>.</summary>
    public static string Primary(string tag) => tag.Split('-')[0].ToLowerInvariant();

    [GeneratedRegex(@"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}|[A-Za-z]{2}))?$")]
    private static partial Regex TagPattern();
}
