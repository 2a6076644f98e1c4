using System.Reflection;
using System.Text.Json;
using Xunit;

namespace ServerlessInference.Tests.Functions;

/// <summary>The host indexes functions from the functions.metadata the Worker SDK generates at build time; this
/// checks that file (from the FunctionApp build output this test project was built with).</summary>
public sealed class FunctionMetadataTests
{
    private static readonly Dictionary<string, JsonElement> Functions = Load();

    [Theory]
    [InlineData("Translate", "post", "translate", "Function")]
    [InlineData("Health", "get", "health", "Anonymous")]
    [InlineData("Ready", "get", "ready", "Anonymous")]
    [InlineData("TryPage", "get", "try/{file?}", "Anonymous")]
    [InlineData("SubmitJob", "post", "jobs", "Function")]
    [InlineData("GetJob", "get", "jobs/{jobId}", "Function")]
    [InlineData("OpenApi", "get", "openapi.json", "Anonymous")]
    [InlineData("LibreTranslateTranslate", "post", "libretranslate/translate", "Anonymous")]
    [InlineData("LibreTranslateLanguages", "get", "libretranslate/languages", "Anonymous")]
    [InlineData("DeepLTranslate", "post", "deepl/v2/translate", "Anonymous")]
    [InlineData("DeepLLanguages", "get", "deepl/v2/languages", "Anonymous")]
    [InlineData("DeepLUsage", "get", "deepl/v2/usage", "Anonymous")]
    public void HttpFunctionIsIndexedWithItsRouteMethodAndAuthLevel(string name, string method, string route, string authLevel)
    {
        var trigger = Trigger(name, "httpTrigger");
        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(authLevel, trigger.GetProperty("authLevel").GetString());
    }

    [Theory]
    [InlineData("ProcessJobChunk", "translation-jobs")]
    [InlineData("ProcessPoisonJobChunk", "translation-jobs-poison")]
    public void QueueFunctionIsIndexedWithItsQueueAndConnection(string name, string queue)
    {
        var trigger = Trigger(name, "queueTrigger");
        Assert.Equal(queue, trigger.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
    }

    [Fact]
    public void OnlyTheIntendedFunctionsAreIndexed() =>
        Assert.Equal(["DeepLLanguages", "DeepLTranslate", "DeepLUsage", "GetJob", "Health", "LibreTranslateLanguages",
                "LibreTranslateTranslate", "OpenApi", "ProcessJobChunk", "ProcessPoisonJobChunk", "Ready", "SubmitJob", "Translate",
                "TryPage"],
            Functions.Keys.Order(StringComparer.Ordinal));

    [Fact]
    public void HostJsonUsesNoExtensionBundleAndConfiguresTheQueueTrigger()
    {
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")));
        var root = hostJson.RootElement;
        Assert.False(root.TryGetProperty("extensionBundle", out _));
        var queues = root.GetProperty("extensions").GetProperty("queues");
        Assert.True(queues.GetProperty("maxDequeueCount").GetInt32() >= 2);
        Assert.True(queues.GetProperty("batchSize").GetInt32() >= 1);
        Assert.True(TimeSpan.Parse(queues.GetProperty("visibilityTimeout").GetString()!) > TimeSpan.Zero);
        Assert.Equal("none", queues.GetProperty("messageEncoding").GetString()); // the app decodes base64 and raw JSON itself
    }

    private static JsonElement Trigger(string function, string type)
    {
        Assert.True(Functions.TryGetValue(function, out var metadata), $"{function} is not in functions.metadata");
        return Assert.Single(metadata.GetProperty("bindings").EnumerateArray(),
            b => b.GetProperty("type").GetString() == type && b.GetProperty("direction").GetString() == "In");
    }

    private static Dictionary<string, JsonElement> Load()
    {
        var configuration = typeof(FunctionMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
            ?? "Debug";
        var path = Path.Combine(RepoPaths.Root, "FunctionApp", "bin", configuration, "net10.0", "functions.metadata");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is missing: build FunctionApp ({configuration}) first.", path);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.Clone());
    }
}
