using System.Globalization;
using System.Text;

namespace ServerlessInference.Engine.Tokenization;

/// <summary>
/// Splits input into sentences so that long text becomes one batch of short inputs, and puts the translations back
/// where the sentences were: line breaks and paragraphs are kept verbatim; the spaces between sentences are kept too,
/// except after a translation ending in CJK text, which needs none.
/// A sentence ends at . ! ? … followed by closing quotes/brackets and whitespace, or at 。！？ (no space needed).
/// Abbreviations such as "Mr. Smith" are split too: the cost of that is a slightly worse translation, never lost text.
/// </summary>
public static class TextSegmenter
{
    /// <summary>A part of the input: a sentence to translate, or a separator copied as it is.</summary>
    public readonly record struct Part(string Text, bool IsSentence);

    /// <summary>Removes what a model must never see: control characters (tab becomes a space; line breaks stay),
    /// and lone UTF-16 surrogates (become U+FFFD, which the vocabulary maps to &lt;unk&gt;).</summary>
    public static string Clean(string text)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            string? replacement = null;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                replacement = "\uFFFD";
            }
            else if (c == '\t')
            {
                replacement = " ";
            }
            else if (c == '\r')
            {
                replacement = i + 1 < text.Length && text[i + 1] == '\n' ? "" : "\n";
            }
            else if (c != '\n' && char.IsControl(c))
            {
                replacement = "";
            }

            if (replacement is not null && sb is null)
            {
                sb = new StringBuilder(text.Length);
                sb.Append(text, 0, i);
            }

            if (replacement is not null)
            {
                sb!.Append(replacement);
            }
            else
            {
                sb?.Append(c);
            }
        }

        return sb?.ToString() ?? text;
    }

    public static IReadOnlyList<Part> Split(string text)
    {
        var parts = new List<Part>();
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                parts.Add(new Part(text[start..i], false));
            }

            start = i;
            while (i < text.Length && text[i] != '\n')
            {
                char c = text[i++];
                if (c is '。' or '！' or '？')
                {
                    while (i < text.Length && IsCloser(text[i]))
                    {
                        i++;
                    }

                    break;
                }

                if (c is '.' or '!' or '?' or '…')
                {
                    int end = i;
                    while (end < text.Length && (IsCloser(text[end]) || text[end] is '.' or '!' or '?'))
                    {
                        end++;
                    }

                    if (end == text.Length || char.IsWhiteSpace(text[end]))
                    {
                        i = end;
                        break;
                    }
                }
            }

            int stop = i;
            while (stop > start && char.IsWhiteSpace(text[stop - 1]))
            {
                stop--;
            }

            if (stop > start)
            {
                parts.Add(new Part(text[start..stop], true));
            }

            if (stop < i)
            {
                parts.Add(new Part(text[stop..i], false));
            }
        }

        return parts;
    }

    /// <summary>Joins translated sentences and the separators between them.</summary>
    public static string Join(IReadOnlyList<Part> parts, IReadOnlyList<string> translations)
    {
        var sb = new StringBuilder();
        int t = 0;
        bool leading = true;
        for (int p = 0; p < parts.Count; p++)
        {
            var part = parts[p];
            if (part.IsSentence)
            {
                sb.Append(translations[t++]);
                leading = false;
                continue;
            }

            // Leading and trailing whitespace of the whole text is not part of a translation.
            if (leading || p == parts.Count - 1)
            {
                continue;
            }

            bool hasNewline = part.Text.Contains('\n');
            if (hasNewline)
            {
                sb.Append(part.Text.Where(c => c == '\n').ToArray());
            }
            else if (sb.Length > 0 && !IsCjk(sb[^1]))
            {
                sb.Append(' ');
            }
        }

        return sb.ToString();
    }

    private static bool IsCloser(char c) => c is '"' or '\'' or ')' or ']' or '}' or '”' or '’' or '」' or '』' or '）' or '》';

    private static bool IsCjk(char c)
    {
        var cat = CharUnicodeInfo.GetUnicodeCategory(c);
        return c is >= '\u2E80' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF' or >= '\uFF00' and <= '\uFFEF'
            || (cat == UnicodeCategory.OtherLetter && c >= '\u3000');
    }
}
