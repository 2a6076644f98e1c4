using System.Diagnostics;
using Xunit.Abstractions;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>Counts cases per class, collects every failing case with what went wrong, prints the counts and then
/// fails the test once, listing the failures (so one run shows them all).</summary>
internal sealed class FuzzReport(ITestOutputHelper output, string title)
{
    private const int FailuresShown = 150;

    private readonly SortedDictionary<string, (int Cases, int Valid, int Failed)> _classes = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private readonly Stopwatch _stopwatch = Stopwatch.StartNew();

    public int Cases { get; private set; }

    public void Add(string cls, bool valid, string description, IReadOnlyCollection<string> problems, string? answer)
    {
        Cases++;
        var (cases, validCases, failed) = _classes.GetValueOrDefault(cls);
        var fails = problems.Count > 0;
        _classes[cls] = (cases + 1, validCases + (valid ? 1 : 0), failed + (fails ? 1 : 0));
        if (fails)
        {
            _failures.Add($"{description}\n    problem: {string.Join("; ", problems)}" + (answer is null ? "" : $"\n    answer: {answer}"));
        }
    }

    /// <summary>Prints "fuzz:" lines (.ci/run echoes them from the test results) and fails when any case did.</summary>
    public void Finish(params string[] whole)
    {
        foreach (var (cls, (cases, valid, failed)) in _classes)
        {
            output.WriteLine($"fuzz: {cls}: {cases} cases ({valid} valid), {failed} failing");
        }

        output.WriteLine($"fuzz: {title} total: {Cases} cases, {_failures.Count} failing, {_stopwatch.Elapsed.TotalSeconds:F1} s");
        var problems = _failures.Concat(whole).ToList();
        foreach (var failure in problems)
        {
            output.WriteLine(failure);
        }

        Assert.True(problems.Count == 0,
            $"{_failures.Count} of {Cases} {title} cases failed{(whole.Length > 0 ? $"; and {string.Join("; ", whole)}" : "")}:\n" +
            string.Join("\n", _failures.Take(FailuresShown))
            + (_failures.Count > FailuresShown ? $"\n… {_failures.Count - FailuresShown} more" : ""));
    }
}
