using System.Text;
using System.Text.RegularExpressions;
using NJsonSchema.CodeGeneration.CSharp;
using NSwag;
using NSwag.CodeGeneration.CSharp;

namespace ServerlessInference.Tools;

/// <summary>The one set of NSwag settings the committed client is generated with, and the rewrapping that keeps its
/// lines within the repository's 140 columns (CI checks every committed .cs file, generated or not).</summary>
public static partial class ClientGenerator
{
    public const string Namespace = "ServerlessInference.Client";
    public const string ClassName = "TranslationClient";
    public const int MaxLineLength = 140;

    public static async Task<string> GenerateAsync(string documentJson)
    {
        var document = await OpenApiDocument.FromJsonAsync(documentJson);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = ClassName,
            // The caller's HttpClient carries the base address (…/api/) and the function key header.
            UseBaseUrl = false,
            GenerateClientInterfaces = true,
            CSharpGeneratorSettings =
            {
                Namespace = Namespace,
                JsonLibrary = CSharpJsonLibrary.SystemTextJson,
                GenerateNullableReferenceTypes = true,
                GenerateOptionalPropertiesAsNullable = true,
            },
        };
        return Wrap(new CSharpClientGenerator(document, settings).GenerateFile());
    }

    /// <summary>Breaks lines over <see cref="MaxLineLength"/> where C# allows a line break (after a comma, an
    /// opening parenthesis, a closing angle bracket followed by a space, or an assignment's <c>=</c>, before a binary
    /// <c>+</c>, outside literals); comment lines break between words.</summary>
    public static string Wrap(string code)
    {
        var output = new StringBuilder();
        foreach (var raw in code.ReplaceLineEndings("\n").Split('\n'))
        {
            // NSwag's pragmas carry the warning's text as a comment; the number is what counts.
            var line = PragmaComment().Replace(raw, "$1").TrimEnd();
            var indent = line[..(line.Length - line.TrimStart().Length)];
            var comment = line.TrimStart() is var text && text.StartsWith("//", StringComparison.Ordinal)
                ? text[..(text.StartsWith("///", StringComparison.Ordinal) ? 3 : 2)] + " "
                : null;
            while (line.Length > MaxLineLength)
            {
                var at = comment is null ? CodeBreak(line) : line.LastIndexOf(' ', MaxLineLength);
                if (at <= indent.Length + (comment?.Length ?? 0))
                {
                    break;
                }

                output.Append(line[..at].TrimEnd()).Append('\n');
                line = comment is null ? indent + "    " + line[at..].TrimStart() : indent + comment + line[at..].TrimStart();
            }

            output.Append(line).Append('\n');
        }

        return output.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>The last place at or before the limit where a code line may break, or -1.</summary>
    private static int CodeBreak(string line)
    {
        var best = -1;
        var inString = false;
        var verbatim = false;
        for (var i = 0; i < line.Length && i <= MaxLineLength; i++)
        {
            var c = line[i];
            if (inString)
            {
                if (!verbatim && c == '\\')
                {
                    i++;
                }
                else if (c == '"' && verbatim && i + 1 < line.Length && line[i + 1] == '"')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == '\'' && i + 2 < line.Length)
            {
                i += line[i + 1] == '\\' ? 3 : 2;
            }
            else if (c == '"')
            {
                inString = true;
                verbatim = i > 0 && line[i - 1] == '@';
            }
            else if (c is ',' or '(' && i + 1 <= MaxLineLength)
            {
                best = i + 1;
            }
            else if (c == '>' && i + 1 < line.Length && line[i + 1] == ' ' && i + 1 <= MaxLineLength)
            {
                // After a generic return type, before the member's name (a method with no parameters to break at).
                best = i + 1;
            }
            else if (c == '+' && Spaced(line, i))
            {
                best = i;
            }
            else if (c == '=' && Spaced(line, i) && i + 1 <= MaxLineLength)
            {
                best = i + 1;
            }
        }

        return best;
    }

    /// <summary>A binary operator of one character, with a space either side.</summary>
    private static bool Spaced(string line, int i) => i > 0 && line[i - 1] == ' ' && i + 1 < line.Length && line[i + 1] == ' ';

    [GeneratedRegex(@"^(\s*#pragma warning (?:disable|restore) [\w, ]+?)\s*//.*$")]
    private static partial Regex PragmaComment();
}
