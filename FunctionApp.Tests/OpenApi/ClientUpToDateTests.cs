using ServerlessInference.Tools;

namespace ServerlessInference.Tests.OpenApi;

/// <summary>The committed client (FunctionApp.E2ETests/Client/TranslationClient.g.cs) is what tools/OpenApiClient
/// generates from the committed document, so neither can change without the other.</summary>
public sealed class ClientUpToDateTests
{
    [Fact]
    public async Task TheCommittedClientIsGeneratedFromTheCommittedDocument()
    {
        var committed = Path.Combine(RepoPaths.Root, "FunctionApp.E2ETests", "Client", "TranslationClient.g.cs");

        var generated = await ClientGenerator.GenerateAsync(await File.ReadAllTextAsync(OpenApiSpec.CommittedPath));

        Assert.True(generated == (await File.ReadAllTextAsync(committed)).ReplaceLineEndings("\n"),
            "The client is stale; regenerate it: dotnet run --project tools/OpenApiClient -- "
            + "FunctionApp/OpenApi/openapi.json FunctionApp.E2ETests/Client/TranslationClient.g.cs");
    }

    [Fact]
    public void LongLinesBreakAfterACommaOutsideStringLiterals()
    {
        var literal = "\"" + new string('x', 100) + ", x\"";
        var line = "        Call(" + literal + ", " + new string('y', 60) + ");";

        Assert.Equal($"        Call({literal},\n            {new string('y', 60)});\n", ClientGenerator.Wrap(line));
    }
}
