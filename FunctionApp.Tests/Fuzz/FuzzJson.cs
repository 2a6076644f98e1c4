using System.Globalization;
using System.Text;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>Writes JSON by hand, so a case says exactly which bytes go over the wire (the serializer would
/// normalise escapes and replace lone surrogates).</summary>
internal static class FuzzJson
{
    /// <summary>A JSON string literal: quote, backslash and C0 controls escaped; a lone surrogate as a \uXXXX escape
    /// (UTF-8 cannot carry it); everything else raw.</summary>
    public static string Str(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                builder.Append(c).Append(value[++i]);
                continue;
            }
            if (c is '"' or '\\')
            {
                builder.Append('\\').Append(c);
            }
            else if (c < 0x20 || char.IsSurrogate(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.Append('"').ToString();
    }

    public static string Obj(params (string Name, string Value)[] fields) =>
        "{" + string.Join(",", fields.Select(f => Str(f.Name) + ":" + f.Value)) + "}";

    public static string Arr(IEnumerable<string> rawValues) => "[" + string.Join(",", rawValues) + "]";

    public static string StrArr(IEnumerable<string> values) => Arr(values.Select(Str));

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>UTF-8 of text that holds no lone surrogates (<see cref="Str"/> escapes them).</summary>
    public static byte[] Utf8(string json) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetBytes(json);

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Printable preview of a body for failure messages: non-printable bytes as \xNN.</summary>
    public static string Preview(ReadOnlySpan<byte> body, int max = 160)
    {
        var builder = new StringBuilder();
        var shown = body[..Math.Min(body.Length, max)];
        var text = Encoding.UTF8.GetString(shown);
        foreach (var c in text)
        {
            if (c < 0x20 || c == 0x7f || c == '\uFFFD')
            {
                builder.Append(c == '\uFFFD' ? "\\ufffd" : $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(c);
            }
        }
        if (body.Length > max)
        {
            builder.Append($"… ({body.Length} bytes)");
        }

        return builder.ToString();
    }

    public static string Preview(string text, int max = 160) => Preview(Encoding.UTF8.GetBytes(text), max);

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>32 lowercase hex digits: the shape of a job id, drawn from the seeded generator.</summary>
    public static string JobIdShape(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
