using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using ServerlessInference.Requests;

namespace ServerlessInference.Compat;

/// <summary>One field of a compatible API's request: its values, and whether it came as a JSON array (a form field
/// given several times counts as one too, DeepL's <c>text=a&amp;text=b</c>).</summary>
public sealed record CompatField(IReadOnlyList<string> Values, bool IsArray);

/// <summary>The fields of a compatible API's request, whichever way its clients send them: a JSON object, or an
/// <c>application/x-www-form-urlencoded</c> form (what LibreTranslate's and DeepL's own clients and curl examples
/// use). The same body limit and the same 413 as the app's own API apply.</summary>
public sealed class CompatBody
{
    private const string FormMediaType = "application/x-www-form-urlencoded";

    private readonly Dictionary<string, CompatField> _fields;

    private CompatBody(Dictionary<string, CompatField> fields) => _fields = fields;

    public IReadOnlyCollection<string> Names => _fields.Keys;

    public static async Task<CompatBody> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (IsForm(request.ContentType))
        {
            var bytes = await JsonRequest.ReadBodyAsync(request, maxBytes, cancellationToken);
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
            {
                throw JsonRequest.BadRequest("The body is not valid UTF-8.");
            }

            return FromForm(Encoding.UTF8.GetString(bytes));
        }

        using var document = await JsonRequest.ReadObjectAsync(request, maxBytes, cancellationToken);
        return FromJson(document.RootElement);
    }

    /// <summary>The query string's fields, for GET endpoints that take parameters.</summary>
    public static CompatBody FromQuery(IQueryCollection query) =>
        new(query.ToDictionary(q => q.Key, q => new CompatField(q.Value.Select(v => v ?? "").ToList(), q.Value.Count > 1),
            StringComparer.Ordinal));

    public static CompatBody FromForm(string form) =>
        new(QueryHelpers.ParseQuery(form).ToDictionary(f => f.Key,
            f => new CompatField(f.Value.Select(v => v ?? "").ToList(), f.Value.Count > 1), StringComparer.Ordinal));

    public static CompatBody FromJson(JsonElement root)
    {
        var fields = new Dictionary<string, CompatField>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = JsonRequest.PropertyName(property);
            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.Null:
                    break;
                case JsonValueKind.String:
                    fields[name] = new CompatField([JsonRequest.GetString(value)], false);
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    fields[name] = new CompatField([value.GetRawText()], false);
                    break;
                case JsonValueKind.Array when value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String):
                    fields[name] = new CompatField(value.EnumerateArray().Select(JsonRequest.GetString).ToList(), true);
                    break;
                default:
                    throw JsonRequest.BadRequest($"'{JsonRequest.Shown(name)}' must be a string or an array of strings.");
            }
        }
        return new CompatBody(fields);
    }

    public CompatField? Field(string name) => _fields.GetValueOrDefault(name);

    /// <summary>A field that takes one value: null when absent; a second value is an error rather than ignored.</summary>
    public string? Single(string name)
    {
        if (!_fields.TryGetValue(name, out var field))
        {
            return null;
        }

        return field is { IsArray: false, Values.Count: 1 }
            ? field.Values[0]
            : throw JsonRequest.BadRequest($"'{JsonRequest.Shown(name)}' must be given once, as a string.");
    }

    private static bool IsForm(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && mediaType.MediaType.Equals(FormMediaType, StringComparison.OrdinalIgnoreCase);
}
