using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using ServerlessInference.Engine;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Tests.Options;

/// <summary>
/// docs/settings.md and local.settings.sample.json list the same settings: every key of the sample's Values is documented,
/// and every documented setting is in the sample or listed in docs/settings.md as deliberately absent, with a reason.
/// The documented settings are the backticked names in the first column of docs/settings.md's
/// "| Setting | Default | Meaning |" tables; the absent ones, those of its "| Setting | Why it is not in ... |" table.
/// </summary>
public sealed class SettingsDocumentationTests
{
    private const string SettingsTableHeader = "| Setting | Default | Meaning |";
    private const string AbsentTableHeader = "| Setting | Why it is not in local.settings.sample.json |";
    private const string SectionTableHeader = "| Section | Options class | What it configures |";

    private static readonly string[] SettingsPage = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "settings.md"));

    [Fact]
    public void EveryKeyOfTheSampleIsDocumented()
    {
        var documented = Documented();
        var undocumented = SampleKeys().Where(key => !documented.Contains(key)).ToList();

        Assert.True(undocumented.Count == 0,
            $"local.settings.sample.json has settings docs/settings.md does not document: {string.Join(", ", undocumented)}");
    }

    [Fact]
    public void EveryDocumentedSettingIsInTheSampleOrSaysWhyNot()
    {
        var sample = SampleKeys().ToHashSet(StringComparer.Ordinal);
        var absent = Absent();

        var missing = Documented().Where(name => !sample.Contains(name) && !absent.ContainsKey(name)).ToList();
        Assert.True(missing.Count == 0,
            "documented settings neither in local.settings.sample.json nor listed in docs/settings.md as deliberately absent: "
            + string.Join(", ", missing));
        Assert.All(absent, entry =>
            Assert.False(string.IsNullOrWhiteSpace(entry.Value), $"{entry.Key} is listed as absent without a reason"));
        Assert.All(absent.Keys, name => Assert.DoesNotContain(name, sample));
    }

    [Fact]
    public void EverySettingsSectionOfTheAppIsDocumented()
    {
        var sections = typeof(ModelsOptions).Assembly.GetTypes().Concat(typeof(EngineOptions).Assembly.GetTypes())
            .Distinct()
            .Select(type => type.GetField("Section", BindingFlags.Public | BindingFlags.Static))
            .Where(field => field is { IsLiteral: true } && field.FieldType == typeof(string))
            .Select(field => (string)field!.GetRawConstantValue()!)
            .ToList();
        Assert.Contains("Serving", sections);
        Assert.Contains("Monitoring", sections);

        var documentedSections = TableNames(SectionTableHeader).ToHashSet(StringComparer.Ordinal);
        Assert.All(sections, section => Assert.Contains(section, documentedSections));
        var documented = Documented();
        Assert.All(sections, section => Assert.Contains(documented, name => name.StartsWith(section + "__", StringComparison.Ordinal)));
    }

    [Fact]
    public void ReadmeNamesEverySectionAndLinksTheSettingsPage()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));

        Assert.Contains("(docs/settings.md)", readme);
        Assert.All(TableNames(SectionTableHeader), section => Assert.Contains($"`{section}`", readme));
    }

    /// <summary>The sample's keys, a catalog index written as <c>&lt;i&gt;</c> as docs/settings.md writes it.</summary>
    private static IEnumerable<string> SampleKeys()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.sample.json")));
        return sample.RootElement.GetProperty("Values").EnumerateObject()
            .Select(property => Regex.Replace(property.Name, @"__\d+__", "__<i>__"))
            .ToList();
    }

    private static HashSet<string> Documented()
    {
        var names = TableNames(SettingsTableHeader).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(names);
        return names;
    }

    private static Dictionary<string, string> Absent() =>
        TableRows(AbsentTableHeader).SelectMany(cells => Names(cells[0]).Select(name => (name, reason: cells.ElementAtOrDefault(1) ?? "")))
            .ToDictionary(entry => entry.name, entry => entry.reason.Trim(), StringComparer.Ordinal);

    private static IEnumerable<string> TableNames(string header) => TableRows(header).SelectMany(cells => Names(cells[0]));

    private static IEnumerable<string> Names(string cell) => Regex.Matches(cell, "`([^`]+)`").Select(match => match.Groups[1].Value);

    /// <summary>The cells of the body rows of every table of docs/settings.md under <paramref name="header"/>.</summary>
    private static List<string[]> TableRows(string header)
    {
        var rows = new List<string[]>();
        for (var i = 0; i < SettingsPage.Length; i++)
        {
            if (SettingsPage[i].Trim() != header)
            {
                continue;
            }

            for (i += 2; i < SettingsPage.Length && SettingsPage[i].StartsWith('|'); i++)
            {
                rows.Add(SettingsPage[i].Trim().Trim('|').Split('|').Select(cell => cell.Trim()).ToArray());
            }
        }

        Assert.True(rows.Count > 0, $"docs/settings.md has no table with the header {header}");
        return rows;
    }
}
