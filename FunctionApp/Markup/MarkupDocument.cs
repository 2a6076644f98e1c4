using System.Text;
using System.Text.RegularExpressions;
using AngleSharp;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using AngleSharp.Xml;
using AngleSharp.Xml.Parser;

namespace ServerlessInference.Markup;

/// <summary>One parsed HTML or XML document: the segments to translate, then the document rebuilt around their
/// translations.
/// <para>Units. Each block (a paragraph, list item, table cell, heading, an element this class does not know) holds
/// runs of inline content: text with inline tags (<c>b</c>, <c>a</c>, <c>span</c>, ...), atoms (untouched elements,
/// images, comments) and no blocks. A run is one segment, its whitespace collapsed, so the model translates the
/// sentence in context. A <c>br</c> between runs ends one: lines are translated apart. Translatable attributes
/// (<c>alt</c>, <c>title</c>, <c>placeholder</c>, <c>aria-label</c>) are segments of their own.</para>
/// <para>Inline tags. Each inline element's own text is a segment too (in the same batch), and the tag is put back
/// around the first place in the run's translation where that translation (or, for names the model copies through,
/// the source text) appears, inside its parent's place and clear of its siblings'. A tag whose text cannot be found
/// wraps its parent's whole translation instead (so a bold word becomes a bold sentence, nested in source order):
/// no tag is ever dropped or duplicated and the output always nests. Atoms with words of their own (<c>code</c>,
/// <c>kbd</c>, <c>translate="no"</c>) are sent with the sentence and replace the place where their text appears in
/// the translation; atoms not found, and those without words (images, comments, scripts), keep their relative
/// position in the run. Limits: a small model may translate a word differently alone than in its sentence, and
/// then its tag spreads to the parent's whole text; an untouched word the model rewrites appears twice (once as
/// the model wrote it, once untouched); the whitespace inside a run is collapsed to single spaces, as HTML shows it;
/// a tag at a run's edge cannot hold the run's leading or trailing whitespace.</para>
/// <para>Untouched: code-like elements (<see cref="MarkupRules"/>), <c>translate="no"</c>, class
/// <c>notranslate</c>, comments, whitespace-only text, and every other attribute, as AngleSharp serialises them.
/// Output is AngleSharp's serialisation, so entities come back escaped where they must be (<c>&amp;amp;</c>,
/// <c>&amp;lt;</c>, <c>&amp;nbsp;</c>) and malformed HTML comes back as browsers repair it.</para></summary>
public sealed partial class MarkupDocument
{
    private readonly MarkupRules _rules;
    private readonly Func<string> _serialise;
    private readonly List<string> _segments = [];
    private readonly Dictionary<string, int> _segmentIndex = new(StringComparer.Ordinal);
    private readonly List<(IElement Element, string Name, int Segment)> _attributes = [];
    private readonly List<InlineRun> _runs = [];
    private bool _completed;

    private MarkupDocument(MarkupRules rules, INode root, Func<string> serialise)
    {
        _rules = rules;
        _serialise = serialise;
        Walk(root);
    }

    /// <summary>What to translate, each text once, in document order.</summary>
    public IReadOnlyList<string> Segments => _segments;

    /// <exception cref="MarkupFormatException">With <paramref name="xml"/>, the input is not well-formed.</exception>
    public static MarkupDocument Parse(string markup, bool xml)
    {
        ArgumentNullException.ThrowIfNull(markup);
        return xml ? ParseXml(markup) : ParseHtml(markup);
    }

    private static MarkupDocument ParseHtml(string html)
    {
        var parser = new HtmlParser();
        var rules = new MarkupRules(xml: false);
        if (WholeDocument().IsMatch(html))
        {
            var document = parser.ParseDocument(html);
            return new MarkupDocument(rules, document, document.ToHtml);
        }

        // A fragment is parsed as the body's content, as innerHTML is in a browser.
        var body = parser.ParseDocument(string.Empty).Body!;
        body.InnerHtml = html;
        return new MarkupDocument(rules, body, () => body.InnerHtml);
    }

    [GeneratedRegex(@"^\s*(?:<!--.*?-->\s*)*<(?:!doctype|html[\s>])", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex WholeDocument();

    [GeneratedRegex(@"^\s*<\?xml[^>]*\?>", RegexOptions.Singleline)]
    private static partial Regex XmlDeclaration();

    private static MarkupDocument ParseXml(string xml)
    {
        // The declaration is not a node in AngleSharp's DOM; it is kept as it came.
        var declaration = XmlDeclaration().Match(xml);
        var prefix = declaration.Success ? declaration.Value : "";
        var content = xml[prefix.Length..];
        var parser = new XmlParser(new XmlParserOptions { IsSuppressingErrors = false });
        var rules = new MarkupRules(xml: true);
        try
        {
            var document = parser.ParseDocument(content);
            return new MarkupDocument(rules, document, () => prefix + SerialiseChildren(document));
        }
        catch (XmlParseException)
        {
            // Not one document: a fragment of text and elements, parsed inside a root of its own.
        }

        if (prefix.Length > 0)
        {
            throw new MarkupFormatException("XML with a declaration must be one well-formed document.");
        }

        try
        {
            var root = parser.ParseDocument("<markup-fragment>" + content + "</markup-fragment>").DocumentElement;
            return new MarkupDocument(rules, root, () => SerialiseChildren(root));
        }
        catch (XmlParseException ex)
        {
            throw new MarkupFormatException($"The text is not well-formed XML: {ex.Message}", ex);
        }
    }

    private static string SerialiseChildren(INode node) =>
        string.Concat(node.ChildNodes.Select(child => child.ToHtml(XmlMarkupFormatter.Instance)));

    /// <summary>The document with <paramref name="translations"/> (one per segment, in order) in place; once.</summary>
    /// <exception cref="InvalidOperationException">Not one translation per segment, or called twice.</exception>
    public string Complete(IReadOnlyList<string> translations)
    {
        ArgumentNullException.ThrowIfNull(translations);
        if (translations.Count != _segments.Count)
        {
            throw new InvalidOperationException(
                $"{translations.Count} translations came back for {_segments.Count} segments; expected one per segment.");
        }

        if (_completed)
        {
            throw new InvalidOperationException("The document has already been completed.");
        }

        _completed = true;
        foreach (var (element, name, segment) in _attributes)
        {
            element.SetAttribute(name, translations[segment]);
        }
        foreach (var run in _runs)
        {
            run.Replace(translations);
        }
        return _serialise();
    }

    private int Segment(string text)
    {
        if (!_segmentIndex.TryGetValue(text, out var index))
        {
            index = _segments.Count;
            _segments.Add(text);
            _segmentIndex.Add(text, index);
        }
        return index;
    }

    /// <summary>Collects a container's runs, descending into its blocks; untouched elements are not entered.</summary>
    private void Walk(INode container)
    {
        if (container is IElement element)
        {
            CollectAttributes(element);
        }

        var run = new List<INode>();
        foreach (var child in container.ChildNodes.ToArray())
        {
            if (child is IElement childElement)
            {
                if (!_rules.Xml && childElement.LocalName == "br")
                {
                    AddRun(run);
                    continue;
                }

                if (_rules.IsRunMember(childElement))
                {
                    run.Add(child);
                    continue;
                }

                AddRun(run);
                if (!_rules.IsUntouched(childElement))
                {
                    Walk(childElement);
                }

                continue;
            }

            if (child.NodeType is NodeType.Text or NodeType.Comment or NodeType.ProcessingInstruction)
            {
                run.Add(child);
            }
            else
            {
                AddRun(run);
            }
        }
        AddRun(run);
    }

    private void CollectAttributes(IElement element)
    {
        if (_rules.Xml)
        {
            return;
        }

        foreach (var attribute in element.Attributes.ToArray())
        {
            if (MarkupRules.TranslatableAttributes.Contains(attribute.Name) && !MarkupText.IsBlank(attribute.Value))
            {
                _attributes.Add((element, attribute.Name, Segment(attribute.Value)));
            }
        }
    }

    private void AddRun(List<INode> nodes)
    {
        if (nodes.Count == 0)
        {
            return;
        }

        var run = InlineRun.Create([.. nodes], _rules, Segment, CollectAttributes);
        nodes.Clear();
        if (run is not null)
        {
            _runs.Add(run);
        }
    }
}
