using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace ServerlessInference.Tests.Infra;

/// <summary>
/// There is no Docker engine in CI, so the Dockerfile is checked against the repository instead of built:
/// base images match the project's framework, every COPY source exists and is not excluded by .dockerignore,
/// the published project and the files it links are in the build stage, and the publish output is where
/// the Functions host looks for it.
/// </summary>
public class DockerfileTests
{
    private const string SdkImage = "mcr.microsoft.com/dotnet/sdk:10.0";
    private const string FunctionsImage = "mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0";
    private const string ProjectPath = "FunctionApp/FunctionApp.csproj";
    private const string ScriptRoot = "/home/site/wwwroot";

    private static readonly string RepoRoot = FindRepoRoot();

    [Fact]
    public void Dockerfile_MatchesTheProject()
    {
        var problems = DockerfileCheck.Problems(ReadRepoFile("Dockerfile"), RepoRoot);
        Assert.Equal(string.Empty, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void DockerIgnore_KeepsModelsAndBuildOutputOutOfTheImage()
    {
        var ignore = new DockerIgnore(ReadRepoFile(".dockerignore"));
        Assert.True(ignore.IsExcluded("models/marian-tiny-en-zh/model.onnx"), "models/ must not reach the build context");
        Assert.True(ignore.IsExcluded("FunctionApp/bin/Release/net10.0/x.dll"), "bin/ must not reach the build context");
        Assert.True(ignore.IsExcluded("FunctionApp/obj/project.assets.json"), "obj/ must not reach the build context");
        Assert.False(ignore.IsExcluded("FunctionApp/Program.cs"));
        Assert.False(ignore.IsExcluded("host.json"));
    }

    // The check itself must fail on a Dockerfile that points at paths the project does not have.
    [Theory]
    [InlineData("RUN dotnet publish FunctionApp/FunctionApp.csproj", "RUN dotnet publish src/FunctionApp/FunctionApp.csproj")]
    [InlineData("COPY FunctionApp/FunctionApp.csproj FunctionApp/", "COPY FunctionApp/ServerlessInference.csproj FunctionApp/")]
    [InlineData("COPY Directory.Build.props host.json", "COPY Directory.Build.props hosts.json")]
    [InlineData("COPY FunctionApp/ FunctionApp/", "COPY models/ models/\nCOPY FunctionApp/ FunctionApp/")]
    [InlineData("--self-contained false -o /home/site/wwwroot", "--self-contained false -o /app/publish")]
    [InlineData("COPY --from=build /home/site/wwwroot /home/site/wwwroot", "COPY --from=build /app/publish /home/site/wwwroot")]
    [InlineData("AzureWebJobsScriptRoot=/home/site/wwwroot", "AzureWebJobsScriptRoot=/home/site/app")]
    [InlineData("dotnet-isolated:4-dotnet-isolated10.0", "dotnet-isolated:4-dotnet-isolated8.0")]
    [InlineData("dotnet/sdk:10.0", "dotnet/sdk:9.0")]
    [InlineData("USER 10001:10001", "USER root")]
    [InlineData("EXPOSE 8080", "EXPOSE 80")]
    public void Check_RejectsABrokenDockerfile(string original, string broken)
    {
        var dockerfile = ReadRepoFile("Dockerfile");
        Assert.Contains(original, dockerfile);

        var problems = DockerfileCheck.Problems(dockerfile.Replace(original, broken), RepoRoot);

        Assert.NotEmpty(problems);
    }

    private static string ReadRepoFile(string relativePath) => File.ReadAllText(Path.Combine(RepoRoot, relativePath));

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ServerlessInference.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ServerlessInference.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed record Instruction(string Keyword, string Arguments);

    private sealed record CopyStep(IReadOnlyList<string> Sources, string Destination, string? From);

    private sealed class Stage(string image, string? name)
    {
        public string Image { get; } = image;
        public string? Name { get; } = name;
        public string WorkDir { get; set; } = "/";
        public List<CopyStep> Copies { get; } = [];
        public List<string> Runs { get; } = [];
        public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);
        public List<string> Exposed { get; } = [];
        public string? User { get; set; }
    }

    private static class DockerfileCheck
    {
        public static List<string> Problems(string dockerfile, string repoRoot)
        {
            var problems = new List<string>();
            var ignore = new DockerIgnore(File.Exists(Path.Combine(repoRoot, ".dockerignore"))
                ? File.ReadAllText(Path.Combine(repoRoot, ".dockerignore"))
                : string.Empty);
            var stages = Parse(dockerfile);
            if (stages.Count < 2)
            {
                problems.Add($"expected a multi-stage build, found {stages.Count} stage(s)");
                return problems;
            }

            var build = stages[0];
            var final = stages[^1];
            if (build.Image != SdkImage)
            {
                problems.Add($"build stage must use {SdkImage}, not {build.Image}");
            }

            if (final.Image != FunctionsImage)
            {
                problems.Add($"final stage must use {FunctionsImage}, not {final.Image}");
            }

            CheckFrameworkMatchesImages(repoRoot, build.Image, final.Image, problems);

            // Every COPY from the build context: the source exists and .dockerignore does not drop it.
            foreach (var stage in stages)
            {
                foreach (var copy in stage.Copies.Where(c => c.From is null))
                {
                    foreach (var source in copy.Sources)
                    {
                        var relative = source.TrimStart('.', '/').TrimEnd('/');
                        var full = Path.Combine(repoRoot, relative);
                        if (!File.Exists(full) && !Directory.Exists(full))
                        {
                            problems.Add($"COPY source '{source}' does not exist in the repository");
                        }
                        else if (ignore.IsExcluded(relative))
                        {
                            problems.Add($"COPY source '{source}' is excluded by .dockerignore");
                        }

                        if (relative == "models" || relative.StartsWith("models/", StringComparison.Ordinal))
                        {
                            problems.Add($"COPY '{source}' bakes the model into the image; it is pulled from blob storage");
                        }
                    }
                }
            }

            // dotnet publish of the function app project, into the folder the host loads.
            var publish = build.Runs.FirstOrDefault(r => r.Contains("dotnet publish", StringComparison.Ordinal));
            string? publishDir = null;
            if (publish is null)
            {
                problems.Add("build stage has no 'dotnet publish'");
            }
            else
            {
                var args = publish.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var project = args.SkipWhile(a => a != "publish").Skip(1).FirstOrDefault(a => !a.StartsWith('-'));
                publishDir = ValueOf(args, "-o") ?? ValueOf(args, "--output");
                if (project != ProjectPath)
                {
                    problems.Add($"dotnet publish must build {ProjectPath}, not '{project}'");
                }
                else
                {
                    CheckInBuildStage(build, project, repoRoot, "the published project", problems);
                    foreach (var linked in LinkedFiles(repoRoot, project))
                    {
                        CheckInBuildStage(build, linked, repoRoot, $"'{linked}' (linked by {project})", problems);
                    }
                }

                foreach (var (option, value) in new[] { ("-c", "Release"), ("-r", "linux-x64"), ("--self-contained", "false") })
                {
                    if (ValueOf(args, option) != value)
                    {
                        problems.Add($"dotnet publish must pass {option} {value}");
                    }
                }

                if (publishDir != ScriptRoot)
                {
                    problems.Add($"dotnet publish must write to {ScriptRoot}, not '{publishDir}'");
                }
            }

            // The published folder is copied to where AzureWebJobsScriptRoot points.
            var fromBuild = final.Copies.Where(c => c.From == build.Name).ToList();
            if (!fromBuild.Any(c => c.Sources.Count == 1 && c.Sources[0].TrimEnd('/') == publishDir && c.Destination.TrimEnd('/') == ScriptRoot))
            {
                problems.Add($"final stage must COPY --from={build.Name} {publishDir} {ScriptRoot}");
            }

            if (!final.Env.TryGetValue("AzureWebJobsScriptRoot", out var scriptRoot) || scriptRoot != ScriptRoot)
            {
                problems.Add($"final stage must set AzureWebJobsScriptRoot={ScriptRoot}");
            }

            if (!final.Env.TryGetValue("AzureFunctionsJobHost__Logging__Console__IsEnabled", out var console) || console != "true")
            {
                problems.Add("final stage must set AzureFunctionsJobHost__Logging__Console__IsEnabled=true");
            }

            if (final.User is null || final.User.Split(':')[0] is "root" or "0")
            {
                problems.Add("final stage must switch to a non-root USER");
            }

            CheckPorts(repoRoot, final, problems);
            return problems;
        }

        private static void CheckFrameworkMatchesImages(string repoRoot, string sdkImage, string functionsImage, List<string> problems)
        {
            var csproj = XDocument.Load(Path.Combine(repoRoot, ProjectPath));
            var tfm = csproj.Descendants("TargetFramework").Select(e => e.Value.Trim()).FirstOrDefault() ?? "";
            var functionsVersion = csproj.Descendants("AzureFunctionsVersion").Select(e => e.Value.Trim()).FirstOrDefault() ?? "";
            var dotnetVersion = tfm.StartsWith("net", StringComparison.Ordinal) ? tfm[3..] : tfm;
            if (!sdkImage.EndsWith(":" + dotnetVersion, StringComparison.Ordinal))
            {
                problems.Add($"SDK image {sdkImage} does not match TargetFramework {tfm}");
            }

            var expectedTag = $":{functionsVersion.TrimStart('v')}-dotnet-isolated{dotnetVersion}";
            if (!functionsImage.EndsWith(expectedTag, StringComparison.Ordinal))
            {
                problems.Add($"Functions image {functionsImage} does not match {functionsVersion}/{tfm} (expected tag '{expectedTag[1..]}')");
            }
        }

        // Files the project pulls in from outside its folder (e.g. ../host.json) must be in the build stage too.
        private static IEnumerable<string> LinkedFiles(string repoRoot, string project)
        {
            var projectDir = Path.GetDirectoryName(project)!;
            var csproj = XDocument.Load(Path.Combine(repoRoot, project));
            return csproj.Descendants()
                .Where(e => e.Attribute("Include") is not null && e.Attribute("Condition") is null)
                .Where(e => e.Name.LocalName is "None" or "Content" or "Compile" or "EmbeddedResource" or "ProjectReference")
                .Select(e => e.Attribute("Include")!.Value.Replace('\\', '/'))
                .Where(include => include.StartsWith("../", StringComparison.Ordinal) && !include.Contains('*'))
                .Select(include => NormalizePath(projectDir + "/" + include))
                .ToList();
        }

        // A repo path the build needs must land at the same place under WORKDIR through a COPY.
        private static void CheckInBuildStage(Stage build, string repoPath, string repoRoot, string what, List<string> problems)
        {
            if (!File.Exists(Path.Combine(repoRoot, repoPath)))
            {
                problems.Add($"{what} '{repoPath}' does not exist in the repository");
                return;
            }

            var wanted = NormalizePath(build.WorkDir.TrimEnd('/') + "/" + repoPath);
            foreach (var copy in build.Copies.Where(c => c.From is null))
            {
                foreach (var source in copy.Sources)
                {
                    var src = source.TrimStart('.', '/');
                    var dest = copy.Destination.StartsWith('/') ? copy.Destination : build.WorkDir.TrimEnd('/') + "/" + copy.Destination;
                    var destIsDir = dest.EndsWith('/') || copy.Sources.Count > 1 || src.EndsWith('/');
                    string landed;
                    if (src.EndsWith('/'))
                    {
                        if (!repoPath.StartsWith(src, StringComparison.Ordinal))
                        {
                            continue;
                        }

                        landed = NormalizePath(dest.TrimEnd('/') + "/" + repoPath[src.Length..]);
                    }
                    else if (src == repoPath)
                    {
                        landed = NormalizePath(destIsDir ? dest.TrimEnd('/') + "/" + Path.GetFileName(src) : dest);
                    }
                    else
                    {
                        continue;
                    }

                    if (landed == wanted)
                    {
                        return;
                    }
                }
            }

            problems.Add($"{what} is not copied to {wanted} in the build stage");
        }

        private static void CheckPorts(string repoRoot, Stage final, List<string> problems)
        {
            final.Env.TryGetValue("ASPNETCORE_URLS", out var urls);
            var listenPort = urls is null ? "80" : Regex.Match(urls, @":(\d+)").Groups[1].Value;
            if (!final.Exposed.Contains(listenPort))
            {
                problems.Add($"EXPOSE must include the port the host listens on ({listenPort})");
            }

            var manifests = Path.Combine(repoRoot, "infra", "k8s");
            if (!Directory.Exists(manifests))
            {
                return;
            }

            foreach (var file in Directory.EnumerateFiles(manifests, "*.yaml", SearchOption.AllDirectories))
            {
                foreach (Match m in Regex.Matches(File.ReadAllText(file), @"containerPort:\s*(\d+)"))
                {
                    if (m.Groups[1].Value != listenPort)
                    {
                        problems.Add($"{Path.GetRelativePath(repoRoot, file)}: containerPort {m.Groups[1].Value} but the image listens on {listenPort}");
                    }
                }
            }
        }

        private static string? ValueOf(string[] args, string option)
        {
            var i = Array.IndexOf(args, option);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        private static string NormalizePath(string path)
        {
            var parts = new List<string>();
            foreach (var part in path.Split('/'))
            {
                if (part is "" or ".")
                {
                    continue;
                }

                if (part == ".." && parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else
                {
                    parts.Add(part);
                }
            }

            return (path.StartsWith('/') ? "/" : "") + string.Join('/', parts);
        }

        private static List<Stage> Parse(string dockerfile)
        {
            var stages = new List<Stage>();
            foreach (var instruction in Instructions(dockerfile))
            {
                var args = Tokens(instruction.Arguments);
                if (instruction.Keyword == "FROM")
                {
                    var asIndex = args.FindIndex(a => a.Equals("AS", StringComparison.OrdinalIgnoreCase));
                    stages.Add(new Stage(args.First(a => !a.StartsWith("--", StringComparison.Ordinal)), asIndex >= 0 ? args[asIndex + 1] : null));
                    continue;
                }

                if (stages.Count == 0)
                {
                    continue;
                }

                var stage = stages[^1];
                switch (instruction.Keyword)
                {
                    case "WORKDIR":
                        stage.WorkDir = args[0].StartsWith('/') ? args[0] : stage.WorkDir.TrimEnd('/') + "/" + args[0];
                        break;
                    case "COPY" or "ADD":
                        var from = args.FirstOrDefault(a => a.StartsWith("--from=", StringComparison.Ordinal))?["--from=".Length..];
                        var paths = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
                        stage.Copies.Add(new CopyStep(paths.Take(paths.Count - 1).ToList(), paths[^1], from));
                        break;
                    case "RUN":
                        stage.Runs.Add(instruction.Arguments);
                        break;
                    case "ENV":
                        foreach (var pair in args.Where(a => a.Contains('=')))
                        {
                            var eq = pair.IndexOf('=');
                            stage.Env[pair[..eq]] = pair[(eq + 1)..].Trim('"');
                        }

                        break;
                    case "EXPOSE":
                        stage.Exposed.AddRange(args.Select(a => a.Split('/')[0]));
                        break;
                    case "USER":
                        stage.User = args[0];
                        break;
                }
            }

            return stages;
        }

        private static List<string> Tokens(string arguments)
        {
            var trimmed = arguments.Trim();
            if (trimmed.StartsWith('['))
            {
                return Regex.Matches(trimmed, "\"((?:[^\"\\\\]|\\\\.)*)\"").Select(m => m.Groups[1].Value).ToList();
            }

            return trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
        }

        private static IEnumerable<Instruction> Instructions(string dockerfile)
        {
            var current = "";
            foreach (var rawLine in dockerfile.Replace("\r\n", "\n").Split('\n'))
            {
                var line = rawLine.Trim();
                if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
                {
                    continue;
                }

                if (line.EndsWith('\\'))
                {
                    current += line[..^1] + " ";
                    continue;
                }

                current += line;
                if (current.Trim().Length > 0)
                {
                    var text = current.Trim();
                    var space = text.IndexOf(' ');
                    yield return space < 0
                        ? new Instruction(text.ToUpperInvariant(), "")
                        : new Instruction(text[..space].ToUpperInvariant(), text[(space + 1)..]);
                }

                current = "";
            }
        }
    }

    /// <summary>.dockerignore patterns (Go filepath.Match plus '**'); the last matching pattern wins.</summary>
    private sealed class DockerIgnore
    {
        private readonly List<(Regex Pattern, bool Exclude)> _rules = [];

        public DockerIgnore(string text)
        {
            foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var exclude = !line.StartsWith('!');
                var pattern = line.TrimStart('!').Trim().TrimStart('/').TrimEnd('/');
                var regex = "^" + Regex.Escape(pattern)
                    .Replace(@"\*\*/", "(.*/)?")
                    .Replace(@"\*\*", ".*")
                    .Replace(@"\*", "[^/]*")
                    .Replace(@"\?", "[^/]") + "$";
                _rules.Add((new Regex(regex), exclude));
            }
        }

        // A path is excluded when it, or a folder above it, matches.
        public bool IsExcluded(string relativePath)
        {
            var parts = relativePath.Trim('/').Split('/');
            var excluded = false;
            foreach (var (pattern, exclude) in _rules)
            {
                for (var n = 1; n <= parts.Length; n++)
                {
                    if (pattern.IsMatch(string.Join('/', parts.Take(n))))
                    {
                        excluded = exclude;
                        break;
                    }
                }
            }

            return excluded;
        }
    }
}
