using ServerlessInference.Tools;

// dotnet run --project tools/OpenApiClient -- FunctionApp/OpenApi/openapi.json FunctionApp.E2ETests/Client/TranslationClient.g.cs
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: OpenApiClient <openapi.json> <output.cs>");
    return 2;
}

var code = await ClientGenerator.GenerateAsync(await File.ReadAllTextAsync(args[0]));
await File.WriteAllTextAsync(args[1], code);
Console.WriteLine($"wrote {args[1]}");
return 0;
