using System.Text.Json;
using Json.Schema;

namespace ServerlessInference.Tests.OpenApi;

/// <summary>The committed OpenAPI document read as plain JSON, with JsonSchema.Net validating against the schemas it
/// declares (OpenAPI 3.1's schemas are JSON Schema 2020-12).</summary>
public sealed class OpenApiSpec
{
    public static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private static readonly Uri BaseUri = new("https://serverless-inference.test/openapi.json");

    private readonly BuildOptions _build;

    public OpenApiSpec(string json)
    {
        Root = JsonDocument.Parse(json).RootElement;
        var registry = new SchemaRegistry();
        registry.Register(new JsonElementBaseDocument(Root, BaseUri));
        _build = new BuildOptions { SchemaRegistry = registry };
    }

    public static string CommittedPath => Path.Combine(RepoPaths.Root, "FunctionApp", "OpenApi", "openapi.json");

    public static OpenApiSpec Committed { get; } = new(File.ReadAllText(CommittedPath));

    public JsonElement Root { get; }

    /// <summary>Every operation as "method /path".</summary>
    public IEnumerable<string> Operations =>
        Root.GetProperty("paths").EnumerateObject().SelectMany(path => path.Value.EnumerateObject()
            .Where(m => HttpMethods.Contains(m.Name)).Select(m => $"{m.Name} {path.Name}"));

    public JsonElement Operation(string operation)
    {
        var (method, path) = Split(operation);
        var found = Root.GetProperty("paths").TryGetProperty(path, out var item) && item.TryGetProperty(method, out _);
        Assert.True(found, $"{operation} is not in the document");
        return item.GetProperty(method);
    }

    /// <summary>The statuses an operation declares.</summary>
    public IEnumerable<int> Statuses(string operation) =>
        Operation(operation).GetProperty("responses").EnumerateObject()
            .Select(r => int.Parse(r.Name, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The declared response and where it is (a <c>$ref</c> to components/responses followed); null when
    /// undeclared.</summary>
    public (JsonElement Element, string[] Pointer)? Response(string operation, int status)
    {
        var (method, path) = Split(operation);
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Operation(operation).GetProperty("responses").TryGetProperty(code, out _)
            ? Resolve(["paths", path, method, "responses", code])
            : null;
    }

    /// <summary>The element at a pointer (as segments), following <c>$ref</c>s, and the pointer it ends at.</summary>
    public (JsonElement Element, string[] Pointer) Resolve(string[] pointer)
    {
        var element = pointer.Aggregate(Root, (e, segment) => e.GetProperty(segment));
        while (element.TryGetProperty("$ref", out var reference))
        {
            pointer = reference.GetString()!.TrimStart('#', '/').Split('/').Select(s => s.Replace("~1", "/").Replace("~0", "~")).ToArray();
            element = pointer.Aggregate(Root, (e, segment) => e.GetProperty(segment));
        }

        return (element, pointer);
    }

    /// <summary>Validates <paramref name="instance"/> against the schema at a JSON pointer into the document (as
    /// segments), returning the errors (empty when valid).</summary>
    public IReadOnlyList<string> Validate(JsonElement instance, params string[] pointer)
    {
        var fragment = string.Concat(pointer.Select(s => "/" + Uri.EscapeDataString(s.Replace("~", "~0").Replace("/", "~1"))));
        var schema = JsonSchema.FromText($$"""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "{{BaseUri}}#{{fragment}}"}
            """, _build);
        var results = schema.Evaluate(instance, new EvaluationOptions
        {
            OutputFormat = OutputFormat.List,
            RequireFormatValidation = true,
        });
        return results.IsValid
            ? []
            : (results.Details ?? []).Where(d => d.Errors is not null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))
                .DefaultIfEmpty("invalid").ToList();
    }

    public static (string Method, string Path) Split(string operation)
    {
        var space = operation.IndexOf(' ', StringComparison.Ordinal);
        return (operation[..space], operation[(space + 1)..]);
    }
}
