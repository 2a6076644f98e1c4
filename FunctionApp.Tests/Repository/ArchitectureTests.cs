using System.Text.RegularExpressions;

namespace ServerlessInference.Tests.Repository;

/// <summary>The shape of the production code, read from its sources: what depends on what, and how it is divided.
/// The engine, the model tools and the Functions host are separate assemblies; inside each, a folder is a concept and
/// a namespace.</summary>
public sealed partial class ArchitectureTests
{
    /// <summary>The production projects (tests and build output left out).</summary>
    private static readonly string[] ProductionRoots = ["Engine", "ModelTools", "FunctionApp", "tools"];

    private static readonly Lazy<IReadOnlyList<SourceFile>> Sources = new(ReadSources);

    [Fact]
    public void NamespacesDependOnEachOtherWithoutCycles()
    {
        var edges = Sources.Value.GroupBy(f => f.Namespace)
            .ToDictionary(g => g.Key, g => g.SelectMany(f => f.Usings).Where(u => u != g.Key).ToHashSet());
        var cycles = new List<string>();
        var state = new Dictionary<string, int>(); // 1: on the current path, 2: done
        var path = new List<string>();

        void Visit(string ns)
        {
            state[ns] = 1;
            path.Add(ns);
            foreach (var next in edges.GetValueOrDefault(ns) ?? [])
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    cycles.Add(string.Join(" -> ", path.SkipWhile(n => n != next).Append(next)));
                }
                else if (state.GetValueOrDefault(next) == 0 && edges.ContainsKey(next))
                {
                    Visit(next);
                }
            }

            path.RemoveAt(path.Count - 1);
            state[ns] = 2;
        }

        foreach (var ns in edges.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(ns) == 0)
            {
                Visit(ns);
            }
        }

        Assert.True(cycles.Count == 0, "namespace cycles:\n" + string.Join('\n', cycles));
    }

    [Fact]
    public void NoFolderHoldsMoreThanAQuarterOfTheProductionCode()
    {
        var total = Sources.Value.Sum(f => f.Lines);
        // Every folder below a project (a project is an assembly, not a concept folder), with everything under it.
        var folders = Sources.Value
            .SelectMany(f => Ancestors(f.Folder).Where(d => d.Contains('/') && !IsProject(d)).Select(d => (Folder: d, f.Lines)))
            .GroupBy(x => x.Folder, x => x.Lines)
            .Select(g => (Folder: g.Key, Lines: g.Sum()))
            .Where(x => x.Lines * 4 > total)
            .ToList();

        Assert.True(folders.Count == 0,
            $"{total} production lines; over a quarter: " + string.Join(", ", folders.Select(x => $"{x.Folder} ({x.Lines})")));
    }

    [Fact]
    public void TheEngineKnowsNothingOfAzureOrTheFunctionsHost()
    {
        var engine = Sources.Value.Where(f => f.Folder == "Engine" || f.Folder.StartsWith("Engine/", StringComparison.Ordinal));
        var offending = engine.SelectMany(f => f.AllUsings.Where(u =>
                u.StartsWith("Azure", StringComparison.Ordinal) || u.StartsWith("Microsoft.Azure", StringComparison.Ordinal)
                || u.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
                || (u.StartsWith("ServerlessInference.", StringComparison.Ordinal)
                    && !u.StartsWith("ServerlessInference.Engine", StringComparison.Ordinal)))
            .Select(u => $"{f.Path}: {u}"))
            .ToList();
        Assert.Empty(offending);
        Assert.DoesNotContain("<ProjectReference", File.ReadAllText(Path.Combine(RepoPaths.Root, "Engine", "Engine.csproj")));
    }

    [Fact]
    public void TheFunctionsAppDoesNotShipTheModelTools()
    {
        var project = File.ReadAllText(Path.Combine(RepoPaths.Root, "FunctionApp", "FunctionApp.csproj"));
        Assert.Contains("../Engine/Engine.csproj", project);
        Assert.DoesNotContain("ModelTools", project);
        Assert.DoesNotContain(Sources.Value, f => f.Folder.StartsWith("FunctionApp", StringComparison.Ordinal)
            && f.AllUsings.Any(u => u.StartsWith("ServerlessInference.ModelTools", StringComparison.Ordinal)));
    }

    private static bool IsProject(string folder) =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.csproj").Any();

    private static IEnumerable<string> Ancestors(string folder)
    {
        for (var d = folder; d.Length > 0; d = Path.GetDirectoryName(d)?.Replace('\\', '/') ?? "")
        {
            yield return d;
        }
    }

    private static IReadOnlyList<SourceFile> ReadSources() =>
        ProductionRoots
            .SelectMany(root => Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, root), "*.cs", SearchOption.AllDirectories))
            .Select(path => Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/'))
            .Where(path => !path.Contains("/obj/", StringComparison.Ordinal) && !path.Contains("/bin/", StringComparison.Ordinal)
                && !path.Contains(".Tests/", StringComparison.Ordinal))
            .Select(SourceFile.Read)
            .ToList();

    private sealed record SourceFile(string Path, string Folder, string Namespace, IReadOnlyList<string> AllUsings, int Lines)
    {
        /// <summary>The app's own namespaces this file imports.</summary>
        public IEnumerable<string> Usings => AllUsings.Where(u => u.StartsWith("ServerlessInference", StringComparison.Ordinal));

        public static SourceFile Read(string path)
        {
            var text = File.ReadAllText(System.IO.Path.Combine(RepoPaths.Root, path));
            var ns = NamespacePattern().Match(text) is { Success: true } m ? m.Groups[1].Value : "(global)";
            var usings = UsingPattern().Matches(text).Select(u => u.Groups[1].Value).ToList();
            var folder = System.IO.Path.GetDirectoryName(path)!.Replace('\\', '/');
            return new SourceFile(path, folder, ns, usings, text.Count(c => c == '\n'));
        }
    }

    [GeneratedRegex(@"^namespace ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"^using ([\w.]+);", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();
}
