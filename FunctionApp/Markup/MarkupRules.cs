using System.Collections.Frozen;
using AngleSharp.Dom;

namespace ServerlessInference.Markup;

/// <summary>What each element is to translation: a block (its text is translated on its own), an inline tag that can
/// sit inside a sentence, or an atom kept byte-for-byte.</summary>
internal sealed class MarkupRules(bool xml)
{
    public bool Xml { get; } = xml;

    /// <summary>Phrasing elements that wrap words inside a sentence. Anything else that is not an atom (an unknown
    /// or custom element included) is treated as a block: translated on its own is never wrong, only less fluent.</summary>
    private static readonly FrozenSet<string> InlineNames = FrozenSet.Create(StringComparer.Ordinal,
        "a", "abbr", "b", "bdi", "bdo", "big", "cite", "data", "del", "dfn", "em", "font", "i", "ins", "mark", "nobr", "q",
        "s", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u");

    /// <summary>Content that is not prose: code, raw-text elements, embedded vocabularies. Kept byte-for-byte.</summary>
    private static readonly FrozenSet<string> UntouchedNames = FrozenSet.Create(StringComparer.Ordinal,
        "code", "pre", "script", "style", "kbd", "samp", "var", "math", "svg", "template", "textarea", "iframe", "object",
        "noembed", "noframes", "xmp", "plaintext", "listing");

    /// <summary>Untouched elements whose text is part of the sentence around them ("run <c>npm install</c> first"):
    /// it goes to the model with the sentence, so the sentence stays grammatical.</summary>
    private static readonly FrozenSet<string> SpokenUntouchedNames = FrozenSet.Create(StringComparer.Ordinal,
        "code", "kbd", "samp", "var");

    /// <summary>HTML attributes shown to readers; every other attribute (href, class, data-*, value, ...) is kept.</summary>
    public static readonly FrozenSet<string> TranslatableAttributes = FrozenSet.Create(StringComparer.Ordinal,
        "alt", "title", "placeholder", "aria-label");

    /// <summary>Neither translated nor looked into: HTML's code-like elements, <c>translate="no"</c> (HTML, and
    /// ITS's <c>its:translate</c> in XML) and the <c>notranslate</c> class.</summary>
    public bool IsUntouched(IElement element)
    {
        foreach (var attribute in element.Attributes)
        {
            if (attribute.LocalName == "translate" && attribute.Value.Trim().Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return !Xml && (UntouchedNames.Contains(element.LocalName) || element.ClassList.Contains("notranslate"));
    }

    /// <summary>The text an untouched element contributes to its sentence ("" for none).</summary>
    public string SpokenText(IElement element) =>
        Xml || SpokenUntouchedNames.Contains(element.LocalName) || !UntouchedNames.Contains(element.LocalName)
            ? element.TextContent
            : "";

    /// <summary>An element that belongs inside a sentence as a wrapper of words. In XML, whose vocabulary is unknown,
    /// an element is inline when its parent has text of its own beside it (mixed content), as DeepL's automatic
    /// detection assumes. A wrapper holding a block (<c>&lt;a&gt;&lt;div&gt;</c>) is a block itself.</summary>
    public bool IsInline(IElement element)
    {
        if (IsUntouched(element))
        {
            return false;
        }

        if (Xml)
        {
            return element.Parent is IElement parent && HasOwnText(parent);
        }

        return InlineNames.Contains(element.LocalName) && element.Children.All(c => IsInlineOrAtom(c, insideInline: true));
    }

    /// <summary>Whether an element among a block's children belongs to the run of inline content around it.</summary>
    public bool IsRunMember(IElement element)
    {
        if (Xml)
        {
            return element.Parent is IElement parent && HasOwnText(parent);
        }

        if (IsVoid(element))
        {
            return true;
        }

        return IsUntouched(element)
            ? InlineNames.Contains(element.LocalName)
              || (UntouchedNames.Contains(element.LocalName) && !BlockUntouchedNames.Contains(element.LocalName))
            : IsInline(element);
    }

    private static readonly FrozenSet<string> BlockUntouchedNames = FrozenSet.Create(StringComparer.Ordinal,
        "pre", "listing", "xmp", "plaintext", "template");

    /// <summary>Whether a node inside a sentence is something the sentence can hold.</summary>
    public bool IsInlineOrAtom(IElement element, bool insideInline)
    {
        if (IsUntouched(element) || IsVoid(element))
        {
            return true;
        }

        if (Xml)
        {
            return insideInline || IsInline(element);
        }

        return InlineNames.Contains(element.LocalName) && element.Children.All(c => IsInlineOrAtom(c, insideInline: true));
    }

    /// <summary>An element with no content to translate (img, input, br inside a wrapper, an empty XML element):
    /// kept whole at its place in the sentence.</summary>
    public bool IsVoid(IElement element) =>
        Xml ? element.ChildNodes.Length == 0 : VoidNames.Contains(element.LocalName);

    private static readonly FrozenSet<string> VoidNames = FrozenSet.Create(StringComparer.Ordinal,
        "area", "br", "embed", "img", "input", "wbr", "canvas", "video", "audio", "picture", "meter", "progress");

    private static bool HasOwnText(IElement element) =>
        element.ChildNodes.Any(n => n.NodeType == NodeType.Text && !MarkupText.IsBlank(n.TextContent));
}
