using System.Globalization;
using System.Xml;
using AngleSharp;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using AngleSharp.Xml;
using AngleSharp.Xml.Parser;
using ServerlessInference.Markup;

namespace ServerlessInference.Tests.Markup;

/// <summary>What the corpus tests compare between an input and its translation, computed from AngleSharp's own parse,
/// independently of the code under test.</summary>
internal static class MarkupStructure
{
    public static string CorpusDirectory => Path.Combine(RepoPaths.Root, "FunctionApp.Tests", "Markup", "Corpus");

    public static IEnumerable<string> CorpusFiles() =>
        Directory.EnumerateFiles(CorpusDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static string Read(string file) => File.ReadAllText(Path.Combine(CorpusDirectory, file));

    public static bool IsXml(string file) => file.EndsWith(".xml", StringComparison.Ordinal);

    /// <summary>The parsed tree (an element holding the fragment, or the document).</summary>
    public static INode Parse(string markup, bool xml)
    {
        if (xml)
        {
            var parser = new XmlParser(new XmlParserOptions { IsSuppressingErrors = false });
            try
            {
                return parser.ParseDocument(markup);
            }
            catch (XmlParseException)
            {
                return parser.ParseDocument("<markup-fragment>" + markup + "</markup-fragment>").DocumentElement;
            }
        }

        var html = new HtmlParser();
        if (markup.TrimStart().StartsWith("<!DOCTYPE", StringComparison.OrdinalIgnoreCase))
        {
            return html.ParseDocument(markup);
        }

        var body = html.ParseDocument(string.Empty).Body!;
        body.InnerHtml = markup;
        return body;
    }

    /// <summary>AngleSharp's serialisation of the parse: the input as the translation should keep it.</summary>
    public static string Serialise(INode root, bool xml) => root switch
    {
        IDocument document when !xml => document.ToHtml(),
        IElement element when !xml => element.InnerHtml,
        _ => string.Concat(root.ChildNodes.Select(c => c.ToHtml(XmlMarkupFormatter.Instance))),
    };

    public static List<string> TagNames(INode root) =>
        [.. root.Descendants<IElement>().Select(e => e.LocalName).Order(StringComparer.Ordinal)];

    /// <summary>Every attribute but the translatable ones, as element:name=value.</summary>
    public static List<string> KeptAttributes(INode root, bool xml) =>
        [.. root.Descendants<IElement>()
            .SelectMany(e => e.Attributes.Where(a => xml || !IsTranslatable(a.Name)).Select(a => $"{e.LocalName}:{a.Name}={a.Value}"))
            .Order(StringComparer.Ordinal)];

    public static List<string> TranslatableAttributes(INode root) =>
        [.. root.Descendants<IElement>()
            .Where(e => !InsideUntouched(e, xml: false, self: e))
            .SelectMany(e => e.Attributes.Where(a => IsTranslatable(a.Name)).Select(a => $"{e.LocalName}:{a.Name}={a.Value}"))
            .Order(StringComparer.Ordinal)];

    private static bool IsTranslatable(string name) => name is "alt" or "title" or "placeholder" or "aria-label";

    private static readonly string[] UntouchedNames =
        ["code", "pre", "script", "style", "kbd", "samp", "var", "math", "svg", "template", "textarea"];

    public static bool IsUntouched(IElement element, bool xml) =>
        element.GetAttribute("translate")?.Trim().Equals("no", StringComparison.OrdinalIgnoreCase) == true
        || (!xml && (UntouchedNames.Contains(element.LocalName) || element.ClassList.Contains("notranslate")));

    /// <summary>Whether an untouched element holds <paramref name="node"/> (or is it, unless it is
    /// <paramref name="self"/>).</summary>
    private static bool InsideUntouched(INode node, bool xml, IElement? self = null)
    {
        for (var current = node is IElement e && e != self ? e : node.ParentElement; current is not null; current = current.ParentElement)
        {
            if (IsUntouched(current, xml))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The outermost untouched elements' and every comment's serialisation.</summary>
    public static List<string> UntouchedParts(INode root, bool xml)
    {
        var parts = root.Descendants<IElement>()
            .Where(e => IsUntouched(e, xml) && (e.ParentElement is null || !InsideUntouched(e.ParentElement, xml)))
            .Select(e => xml ? e.ToHtml(XmlMarkupFormatter.Instance) : e.OuterHtml)
            .Concat(root.Descendants<IComment>().Select(c => xml ? c.ToHtml(XmlMarkupFormatter.Instance) : c.ToHtml()));
        return [.. parts.Order(StringComparer.Ordinal)];
    }

    /// <summary>The text a reader sees, in document order, whitespace collapsed; with <paramref name="translate"/>,
    /// what a word-for-word translator would make of it (untouched text as it is).</summary>
    public static string Text(INode root, bool xml, Func<string, string>? translate = null)
    {
        var texts = root.Descendants<IText>()
            .Select(t => translate is null || InsideUntouched(t, xml) ? t.Data : translate(t.Data));
        return string.Join(" ", string.Concat(texts).Split([' ', '\t', '\n', '\r', '\f'], StringSplitOptions.RemoveEmptyEntries));
    }

    public static void AssertWellFormedXml(string xml)
    {
        using var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { ConformanceLevel = ConformanceLevel.Fragment });
        while (reader.Read())
        {
        }
    }

    public static Task<IReadOnlyList<string>> Uppercase(IReadOnlyList<string> segments, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. segments.Select(s => s.ToUpper(CultureInfo.InvariantCulture))]);

    /// <summary>A translator that reorders: the words of each segment backwards, upper-cased.</summary>
    public static Task<IReadOnlyList<string>> Reverse(IReadOnlyList<string> segments, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. segments.Select(s =>
            string.Join(' ', s.Split(' ').Reverse()).ToUpper(CultureInfo.InvariantCulture))]);

    public static Task<string> TranslateAsync(string markup, bool xml,
        Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<string>>> translate) =>
        HtmlMarkup.TranslateAsync(markup, xml, translate, CancellationToken.None);
}
