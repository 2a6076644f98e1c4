using System.Text.RegularExpressions;
using System.Xml.Linq;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.Tests.Infra;

/// <summary>
/// What the container image must do for this app, checked against the project and the Kubernetes manifests
/// (CI has no Docker engine to build it). Syntax and instruction arguments are linted by scripts/validate-infra.sh.
/// </summary>
public sealed class DockerfileTests
{
    private const string Project = "FunctionApp/FunctionApp.csproj";
    private const string ScriptRoot = "/home/site/wwwroot";

    // One entry per instruction: continuation lines joined, comments dropped, whitespace collapsed.
    private static readonly string[] Instructions = Regex
        .Split(Regex.Replace(Read("Dockerfile"), @"\\\r?\n", " "), @"\r?\n")
        .Select(line => Regex.Replace(line, @"\s+", " ").Trim())
        .Where(line => line.Length > 0 && !line.StartsWith('#'))
        .ToArray();

    private static readonly XDocument ProjectFile = XDocument.Parse(Read(Project));

    [Fact]
    public void BaseImagesMatchTheProjectsFrameworkAndFunctionsVersion()
    {
        var dotnet = ProjectFile.Descendants("TargetFramework").Single().Value.Replace("net", "");
        var functions = ProjectFile.Descendants("AzureFunctionsVersion").Single().Value.TrimStart('v');

        Assert.Equal(
            [
                $"FROM mcr.microsoft.com/dotnet/sdk:{dotnet} AS build",
                $"FROM mcr.microsoft.com/azure-functions/dotnet-isolated:{functions}-dotnet-isolated{dotnet}",
            ],
            Instructions.Where(i => i.StartsWith("FROM ", StringComparison.Ordinal)));
    }

    [Fact]
    public void ImagePublishesReadyToRunForItsRuntimeWithTieredCompilationOff()
    {
        Assert.Contains(Instructions, i => i.StartsWith($"RUN dotnet publish {Project} ", StringComparison.Ordinal)
                                           && i.Contains(" -r linux-x64 ", StringComparison.Ordinal));
        var readyToRun = ProjectFile.Descendants("PublishReadyToRun").Single();
        Assert.Equal("true", readyToRun.Value);
        Assert.Contains("RuntimeIdentifier", readyToRun.Attribute("Condition")!.Value);
        Assert.Equal("false", ProjectFile.Descendants("TieredCompilation").Single().Value);
        var runtimeConfig = Path.Combine(AppContext.BaseDirectory, "ServerlessInference.FunctionApp.runtimeconfig.json");
        Assert.Contains("\"System.Runtime.TieredCompilation\": false", File.ReadAllText(runtimeConfig));
    }

    [Fact]
    public void ImagePublishesTheFunctionAppWhereTheHostLoadsIt()
    {
        Assert.Contains(Instructions, i => i.StartsWith($"RUN dotnet publish {Project} ", StringComparison.Ordinal)
                                           && i.EndsWith($" -o {ScriptRoot}", StringComparison.Ordinal));
        Assert.Contains($"COPY --from=build {ScriptRoot} {ScriptRoot}", Instructions);
        Assert.Equal(ScriptRoot, Env("AzureWebJobsScriptRoot"));
        Assert.Equal("true", Env("AzureFunctionsJobHost__Logging__Console__IsEnabled"));
    }

    [Fact]
    public void BuildCopiesWhatTheProjectNeedsButNotTheModel()
    {
        var sources = Instructions
            .Where(i => i.StartsWith("COPY ", StringComparison.Ordinal) && !i.Contains("--from=", StringComparison.Ordinal))
            .SelectMany(i => i.Split(' ')[1..^1])
            .ToList();
        Assert.All(sources, source => Assert.True(
            Path.Exists(Path.Combine(RepoPaths.Root, source)), $"COPY source '{source}' is not in the repository"));
        Assert.Contains(Project, sources);

        // The project links files from outside its folder (../host.json): the build fails without them.
        var linked = ProjectFile.Descendants("None")
            .Where(e => e.Attribute("Condition") is null)
            .Select(e => e.Attribute("Include")!.Value)
            .Where(include => include.StartsWith("../", StringComparison.Ordinal))
            .Select(include => include["../".Length..])
            .ToList();
        Assert.NotEmpty(linked);
        Assert.All(linked, file => Assert.Contains(file, sources));

        // The app pulls the model from blob storage; the image never carries one.
        Assert.DoesNotContain(sources, source => source.StartsWith("models", StringComparison.Ordinal));
        Assert.Contains("models/", Read(".dockerignore").Split('\n').Select(line => line.Trim()));
    }

    [Fact]
    public void ImageRunsAsNonRootOnTheManifestsContainerPort()
    {
        // Kubernetes can only enforce runAsNonRoot for a numeric user.
        var user = Instructions.Last(i => i.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Split(':')[0];
        Assert.True(int.TryParse(user, out var uid) && uid != 0, $"USER '{user}' is not a numeric non-root id");

        var port = Regex.Match(Env("ASPNETCORE_URLS"), @":(\d+)$").Groups[1].Value;
        Assert.Contains(Instructions, i => i.StartsWith($"EXPOSE {port}", StringComparison.Ordinal));
        var manifestPorts = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "infra", "k8s", "base"), "*.yaml")
            .SelectMany(file => Regex.Matches(File.ReadAllText(file), @"containerPort:\s*(\d+)"))
            .Select(match => match.Groups[1].Value)
            .ToList();
        Assert.NotEmpty(manifestPorts);
        Assert.All(manifestPorts, manifestPort => Assert.Equal(port, manifestPort));
    }

    [Fact]
    public void ContainerLogsAreJsonLinesWithTheirScopes()
    {
        Assert.Equal("json", Env("Logging__Console__FormatterName"));
        Assert.Equal("true", Env("Logging__Console__FormatterOptions__IncludeScopes"));
    }

    [Fact]
    public void ImageExposesThePrometheusPortTheMonitoringComponentScrapes()
    {
        var port = new ServerlessInference.Telemetry.MonitoringOptions().PrometheusPort
            .ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(Instructions, i => i.StartsWith("EXPOSE ", StringComparison.Ordinal) && i.Split(' ').Contains(port));
        var component = Read("infra/k8s/components/prometheus/kustomization.yaml");
        Assert.Contains($"containerPort: {port}", component);
        Assert.Contains($"prometheus.io/port: \"{port}\"", component);
    }

    private static string Env(string name)
    {
        var values = Instructions
            .Where(i => i.StartsWith("ENV ", StringComparison.Ordinal))
            .SelectMany(i => i["ENV ".Length..].Split(' '))
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair[0] == name)
            .Select(pair => pair[1])
            .ToList();
        return Assert.Single(values);
    }

    private static string Read(string relativePath) => File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath));
}
