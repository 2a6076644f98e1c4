using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ServerlessInference.Requests;

/// <summary>Reads a bounded JSON object body and offers typed, precisely-reported field access. Every way a body can
/// be wrong ends here as a <see cref="RequestRejectedException"/> (400/413/415), never as a parser's exception.</summary>
public static class JsonRequest
{
    public static async Task<JsonDocument> ReadObjectAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !(mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                 || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
        {
            throw new RequestRejectedException(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/json, not '{Shown(request.ContentType ?? "")}'.");
        }
        // JSON is UTF-8 (RFC 8259); a body declared otherwise would be misread, not transcoded.
        // RFC 9110 allows the value quoted: charset="utf-8".
        var charset = HeaderUtilities.RemoveQuotes(mediaType.Charset);
        if (charset.HasValue && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            throw new RequestRejectedException(StatusCodes.Status415UnsupportedMediaType,
                $"The charset must be utf-8, not '{Shown(charset.ToString())}'.");
        }

        if (request.ContentLength > maxBytes)
        {
            throw await TooLargeAsync(request.Body, maxBytes, cancellationToken);
        }

        var body = await ReadBoundedAsync(request.Body, maxBytes, cancellationToken);
        // System.Text.Json does not check the bytes inside strings until a value is read; check them all up front.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw BadRequest("The body is not valid UTF-8.");
        }

        JsonDocument document;
        try
        {
            document = Parse(body);
        }
        catch (JsonException ex)
        {
            throw BadRequest($"The body is not valid JSON: {ex.Message}");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw BadRequest("The body must be a JSON object.");
        }
        return document;
    }

    /// <summary>A field given twice is an error rather than "the last one wins": which value a reader takes is not
    /// worth guessing.</summary>
    private static readonly JsonDocumentOptions ParseOptions = new() { AllowDuplicateProperties = false };

    /// <summary>How a JSON document from a caller or a producer is parsed (request bodies, JSONL lines): with
    /// <see cref="ParseOptions"/>, and every way the text can be malformed reported as a <see cref="JsonException"/>.
    /// The duplicate check decodes each name, and a name holding an escaped lone surrogate cannot be decoded
    /// (InvalidOperationException).</summary>
    /// <exception cref="JsonException">The text is not one valid JSON document, or it repeats a field.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8Json)
    {
        try
        {
            return JsonDocument.Parse(utf8Json, ParseOptions);
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException("A field name holds an escaped lone surrogate.", ex);
        }
    }

    /// <inheritdoc cref="Parse(ReadOnlyMemory{byte})"/>
    public static JsonDocument Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>A body of any media type, read under the same limit and with the same 413 as a JSON body.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            throw await TooLargeAsync(request.Body, maxBytes, cancellationToken);
        }

        return await ReadBoundedAsync(request.Body, maxBytes, cancellationToken);
    }

    /// <summary>Copies with a cap instead of trusting Content-Length: chunked requests have none.</summary>
    private static async Task<byte[]> ReadBoundedAsync(Stream source, long maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw await TooLargeAsync(source, maxBytes, cancellationToken);
            }

            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>The 413 for a body over the limit, sent only once the rest of the body has been read and dropped.
    /// The Functions host forwards a request to the worker while its client still sends the body: answering early
    /// makes the worker's Kestrel reset the connection, the host's proxy fails writing the body, and the client
    /// gets an empty 500 instead of this answer (HTTP/1.1 clients that do not wait for 100-continue). Kestrel
    /// accepts up to <see cref="HttpOptions.MaxDrainedBodyBytes"/>, more than the host lets through.</summary>
    private static async Task<RequestRejectedException> TooLargeAsync(Stream body, long maxBytes, CancellationToken cancellationToken)
    {
        var discard = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (await body.ReadAsync(discard, cancellationToken) > 0)
            {
            }
        }
        catch (BadHttpRequestException)
        {
            // Past Kestrel's own limit the connection is reset whatever is answered; the answer is still the 413.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(discard);
        }
        return TooLarge(maxBytes);
    }

    public static void RejectUnknownFields(JsonElement root, params string[] known)
    {
        foreach (var property in root.EnumerateObject())
        {
            var name = PropertyName(property);
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw BadRequest($"Unknown field '{Shown(name)}'; expected {string.Join(", ", known.Select(k => $"'{k}'"))}.");
            }
        }
    }

    /// <summary>A string field; null when absent or JSON null.</summary>
    public static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? GetString(value) : throw BadRequest($"'{name}' must be a string.");
    }

    /// <summary>A catalog model name; present but blank is an error rather than silently the default model.</summary>
    public static string? OptionalModel(JsonElement root)
    {
        var model = OptionalString(root, "model");
        return model is not null && string.IsNullOrWhiteSpace(model)
            ? throw BadRequest("'model' must not be blank; leave it out for the default model.")
            : model;
    }

    /// <summary>An optional count (beams, tokens): its form is checked here, before any model work; its upper
    /// bound depends on the model and is checked once the model is known.</summary>
    public static int? OptionalCount(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            throw BadRequest($"'{name}' must be an integer.");
        }

        return number >= 1 ? number : throw BadRequest($"'{name}' must be at least 1; it is {number}.");
    }

    /// <summary>Either <c>text</c> or a non-empty <c>texts</c> array of strings; null when neither is present.</summary>
    public static List<string>? Texts(JsonElement root)
    {
        var hasText = root.TryGetProperty("text", out var text);
        var hasTexts = root.TryGetProperty("texts", out var texts);
        if (hasText && hasTexts)
        {
            throw BadRequest("Send either 'text' or 'texts', not both.");
        }

        if (hasText)
        {
            return text.ValueKind == JsonValueKind.String ? [GetString(text)] : throw BadRequest("'text' must be a string.");
        }

        if (!hasTexts)
        {
            return null;
        }

        if (texts.ValueKind != JsonValueKind.Array)
        {
            throw BadRequest("'texts' must be an array of strings.");
        }

        var list = new List<string>();
        foreach (var item in texts.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw BadRequest($"'texts[{list.Count}]' must be a string.");
            }

            list.Add(GetString(item));
        }
        if (list.Count == 0)
        {
            throw BadRequest("'texts' must not be empty.");
        }

        return list;
    }

    /// <summary>A JSON string's value. An escaped lone surrogate ("\ud800") is valid JSON but not valid UTF-16 text,
    /// and <see cref="JsonElement.GetString"/> throws on it; such a string is decoded here with U+FFFD in place of
    /// each lone surrogate, as the API documents.</summary>
    public static string GetString(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            var raw = value.GetRawText();
            return Unescape(raw[1..^1]);
        }
    }

    /// <summary>A property's name; <see cref="JsonProperty.Name"/> and NameEquals throw on a lone surrogate just as
    /// GetString does.</summary>
    public static string PropertyName(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            // The raw text is "name": value; the name's literal ends at the first quote not escaped by a backslash.
            var raw = property.ToString();
            var end = 1;
            while (raw[end] != '"')
            {
                end += raw[end] == '\\' ? 2 : 1;
            }

            return Unescape(raw[1..end]);
        }
    }

    /// <summary>Decodes the body of a JSON string literal (already validated by the parser), replacing lone
    /// surrogates with U+FFFD.</summary>
    internal static string Unescape(string literal)
    {
        var builder = new StringBuilder(literal.Length);
        for (var i = 0; i < literal.Length; i++)
        {
            var c = literal[i];
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            c = literal[++i];
            builder.Append(c switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => (char)Convert.ToUInt16(literal.Substring(i + 1, 4), 16),
                _ => c, // \" \\ \/
            });
            if (c == 'u')
            {
                i += 4;
            }
        }
        // Pair up surrogates; any that is left alone becomes U+FFFD.
        var text = builder.ToString();
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result.Append(text[i]).Append(text[++i]);
            }
            else
            {
                result.Append(char.IsSurrogate(text[i]) ? '\uFFFD' : text[i]);
            }
        }
        return result.ToString();
    }

    public static RequestRejectedException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    /// <summary>A caller's value as quoted back in a problem detail: cut short, so a hostile name cannot make the
    /// answer as large as the request.</summary>
    public static string Shown(string value) => value.Length <= MaxShown ? value : value[..MaxShown] + "…";

    private const int MaxShown = 64;

    private static RequestRejectedException TooLarge(long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The body exceeds {maxBytes} bytes.");
}
