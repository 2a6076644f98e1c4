namespace ServerlessInference.Markup;

/// <summary>Translates HTML (or XML) without breaking it: the text of each block is translated in context, as one
/// segment, and the markup is rebuilt around the translation. See <see cref="MarkupDocument"/> for how inline tags
/// are placed and what is left untouched.</summary>
public static class HtmlMarkup
{
    /// <param name="html">An HTML fragment (or a whole document, when it starts with a doctype or an html tag); with
    /// <paramref name="xml"/>, well-formed XML content (one document, or a fragment such as DeepL's tag_handling=xml
    /// takes: text and elements without a single root).</param>
    /// <param name="xml">Parse and serialise as XML rather than HTML.</param>
    /// <param name="translate">Called once, with every segment of the document, so they batch together; returns one
    /// translation per segment, in order. Not called when the document has nothing to translate.</param>
    /// <exception cref="MarkupFormatException">With <paramref name="xml"/>, the input is not well-formed XML.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="translate"/> returned a different number of
    /// translations than it was given segments.</exception>
    public static async Task<string> TranslateAsync(string html, bool xml,
        Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<string>>> translate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentNullException.ThrowIfNull(translate);
        var document = MarkupDocument.Parse(html, xml);
        var translations = document.Segments.Count == 0 ? [] : await translate(document.Segments, cancellationToken);
        return document.Complete(translations);
    }
}

/// <summary>Input that is not well-formed XML, in XML mode (HTML is never rejected: it is parsed as browsers do).</summary>
public sealed class MarkupFormatException(string message, Exception? innerException = null) : FormatException(message, innerException);
