namespace ServerlessInference.E2ETests.Support;

/// <summary>How to start a Functions host for a published app: Azure Functions Core Tools (<c>func start</c> in the
/// publish folder, what users run), or a host build named by <see cref="HostDirVariable"/>.</summary>
public sealed record FunctionsHostLauncher(string Description, string FileName, bool IsCoreTools);

public static class FunctionsHostLocator
{
    /// <summary>A folder holding a host build: <c>Microsoft.Azure.WebJobs.Script.WebHost.dll</c> (in it or in
    /// <c>host/</c>) and <c>start-host.sh</c>, which takes the publish folder as its argument (shared/functions-host).</summary>
    public const string HostDirVariable = "FUNCTIONS_HOST_DIR";

    private const string HostAssembly = "Microsoft.Azure.WebJobs.Script.WebHost.dll";
    private const string StartScript = "start-host.sh";

    private static readonly Lazy<(FunctionsHostLauncher? Launcher, string Reason)> Found = new(Find);

    public static FunctionsHostLauncher? Launcher => Found.Value.Launcher;

    /// <summary>Why no host was found (the skip reason), or how the one found is started.</summary>
    public static string Reason => Found.Value.Reason;

    private static (FunctionsHostLauncher?, string) Find()
    {
        var dir = Environment.GetEnvironmentVariable(HostDirVariable);
        if (!string.IsNullOrWhiteSpace(dir))
        {
            dir = Path.GetFullPath(dir);
            var script = Path.Combine(dir, StartScript);
            var hasHost = File.Exists(Path.Combine(dir, HostAssembly)) || File.Exists(Path.Combine(dir, "host", HostAssembly));
            return File.Exists(script) && hasHost
                ? (new FunctionsHostLauncher($"host build in {dir}", script, IsCoreTools: false), $"{HostDirVariable}={dir}")
                : (null, $"{HostDirVariable}={dir} holds no {StartScript} with {HostAssembly} beside it or in host/.");
        }

        var func = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(p => Path.Combine(p, "func")).FirstOrDefault(File.Exists);
        return func is not null
            ? (new FunctionsHostLauncher($"Core Tools ({func})", func, IsCoreTools: true), $"func at {func}")
            : (null, $"No Functions host: install Azure Functions Core Tools v4 ('func' on PATH) or set {HostDirVariable} " +
                     "to a host build such as ../shared/functions-host.");
    }
}

/// <summary>A test that runs against the real Functions host; reported as skipped, with the reason, where there is
/// none.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class HostFactAttribute : FactAttribute
{
    public HostFactAttribute()
    {
        if (FunctionsHostLocator.Launcher is null)
        {
            Skip = FunctionsHostLocator.Reason;
        }
    }
}
