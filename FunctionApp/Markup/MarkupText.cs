using System.Text;

namespace ServerlessInference.Markup;

/// <summary>Whitespace as HTML and XML define it (space, tab, CR, LF, FF): a no-break space is text, not layout,
/// and is neither collapsed nor trimmed.</summary>
internal static class MarkupText
{
    public static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f';

    public static bool IsBlank(string text) => text.All(IsSpace);

    /// <summary>The text as a reader sees it: runs of whitespace as one space, none at the ends.</summary>
    public static string Collapse(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (IsSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }
            if (space)
            {
                builder.Append(' ');
                space = false;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    public static int LeadingSpace(string text)
    {
        var i = 0;
        while (i < text.Length && IsSpace(text[i]))
        {
            i++;
        }
        return i;
    }

    public static int TrailingSpace(string text)
    {
        var i = 0;
        while (i < text.Length && IsSpace(text[^(i + 1)]))
        {
            i++;
        }
        return i;
    }
}
