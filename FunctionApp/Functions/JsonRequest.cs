using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ServerlessInference.Functions;

/// <summary>A request the API rejects, with the status and message to send back.</summary>
public sealed class RequestRejectedException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Reads a bounded JSON object body and offers typed, precisely-reported field access.</summary>
public static class JsonRequest
{
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !(mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                 || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
            throw new RequestRejectedException(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/json, not '{request.ContentType}'.");
        if (request.ContentLength > maxBytes)
            throw TooLarge(maxBytes);

        // Copy with a cap instead of trusting Content-Length: chunked requests have none.
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
            buffer.Write(chunk, 0, read);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.ToArray());
        }
        catch (JsonException ex)
        {
            throw new RequestRejectedException(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {ex.Message}");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw BadRequest("The body must be a JSON object.");
        }
        return document;
    }

    public static void RejectUnknownFields(JsonElement root, params string[] known)
    {
        foreach (var property in root.EnumerateObject())
            if (!known.Contains(property.Name, StringComparer.Ordinal))
                throw BadRequest($"Unknown field '{property.Name}'; expected {string.Join(", ", known.Select(k => $"'{k}'"))}.");
    }

    public static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw BadRequest($"'{name}' must be a string.");
    }

    public static int? OptionalInt(JsonElement root, string name, int min, int max)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
            throw BadRequest($"'{name}' must be an integer.");
        if (number < min || number > max)
            throw BadRequest($"'{name}' must be between {min} and {max}.");
        return number;
    }

    /// <summary>Either <c>text</c> or a non-empty <c>texts</c> array of strings; null when neither is present.</summary>
    public static List<string>? Texts(JsonElement root)
    {
        var hasText = root.TryGetProperty("text", out var text);
        var hasTexts = root.TryGetProperty("texts", out var texts);
        if (hasText && hasTexts) throw BadRequest("Send either 'text' or 'texts', not both.");
        if (hasText)
            return text.ValueKind == JsonValueKind.String ? [text.GetString()!] : throw BadRequest("'text' must be a string.");
        if (!hasTexts) return null;
        if (texts.ValueKind != JsonValueKind.Array) throw BadRequest("'texts' must be an array of strings.");
        var list = new List<string>();
        foreach (var item in texts.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw BadRequest($"'texts[{list.Count}]' must be a string.");
            list.Add(item.GetString()!);
        }
        if (list.Count == 0) throw BadRequest("'texts' must not be empty.");
        return list;
    }

    public static RequestRejectedException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    private static RequestRejectedException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The body exceeds {maxBytes} bytes.");
}
