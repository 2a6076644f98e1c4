using System.Text;
using System.Text.Json;

namespace ServerlessInference.E2ETests.Support;

/// <summary>An HTTP answer as a caller sees it: status, headers (lower-case names), body.</summary>
public sealed record Answer(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? ContentType => Headers.GetValueOrDefault("content-type");

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public bool IsProblem => ContentType?.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A 503 that says when to come back: the one 5xx the app may answer on purpose.</summary>
    public bool IsRetryableUnavailable => Status == 503 && Headers.ContainsKey("retry-after");

    public static async Task<Answer> ReadAsync(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name.ToLowerInvariant()] = string.Join(", ", values);
        }

        return new Answer((int)response.StatusCode, headers, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Asserts an RFC 9457 problem answer with this status, and returns its detail.</summary>
    public string ShouldBeProblem(int status)
    {
        Assert.True(Status == status, $"expected {status}, got {Status}: {Preview()}");
        Assert.True(IsProblem, $"expected application/problem+json, got '{ContentType}': {Preview()}");
        var json = Json;
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        return json.GetProperty("detail").GetString()!;
    }

    public JsonElement ShouldBe(int status)
    {
        Assert.True(Status == status, $"expected {status}, got {Status}: {Preview()}");
        return Body.Length == 0 ? default : Json;
    }

    public string Preview(int max = 400) => Text.Length <= max ? Text : Text[..max] + "…";

    public override string ToString() => $"{Status} {ContentType} {Preview(200)}";
}
