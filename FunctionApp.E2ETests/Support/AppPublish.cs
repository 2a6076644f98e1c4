using System.Diagnostics;

namespace ServerlessInference.E2ETests.Support;

/// <summary>The app as it is deployed: <c>dotnet publish</c> of FunctionApp, once per test run, into a folder beside
/// the test binaries (or the folder named by <see cref="AppDirVariable"/>, e.g. to run the suite against another
/// build).</summary>
public static class AppPublish
{
    public const string AppDirVariable = "E2E_APP_DIR";

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    public static Task<string> DirectoryAsync() => Published.Value;

    private static async Task<string> PublishAsync()
    {
        if (Environment.GetEnvironmentVariable(AppDirVariable) is { Length: > 0 } given)
        {
            return File.Exists(Path.Combine(given, "host.json"))
                ? Path.GetFullPath(given)
                : throw new InvalidOperationException($"{AppDirVariable}={given} is not a published app (no host.json).");
        }

        // Beside the test binaries (under bin/, never committed), overwritten by the next run.
        var output = Path.Combine(AppContext.BaseDirectory, "published-app");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "publish", Path.Combine(RepoPaths.Root, "FunctionApp", "FunctionApp.csproj"), "-c", Configuration, "-o", output,
                     "--nologo",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return output;
    }
}
