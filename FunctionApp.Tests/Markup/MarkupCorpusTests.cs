using System.Globalization;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Markup;
using ServerlessInference.Serving;
using static ServerlessInference.Tests.Markup.MarkupStructure;

namespace ServerlessInference.Tests.Markup;

/// <summary>Every snippet of the corpus, translated by a fake translator (structure is the property under test, so
/// upper-casing is enough to see where text went) and, for some, by the shipped model.</summary>
[Collection(StorageCollection.Name)]
public sealed class MarkupCorpusTests(StorageFixture storage)
{
    public static TheoryData<string> Corpus => [.. CorpusFiles()];

    /// <summary>A spread of the corpus: sentences with links, nested and misnested tags, code, entities, images,
    /// untranslatable names, and XML.</summary>
    public static TheoryData<string> ModelCorpus =>
    [
        "02-link-in-sentence.html", "03-nested-inline.html", "07-image-alt.html", "10-inline-code.html",
        "12-translate-no.html", "13-entities.html", "17-misnested.html", "28-xml-mixed.xml",
    ];

    [Fact]
    public void TheCorpusHoldsTheSnippetsItIsMeantTo()
    {
        Assert.InRange(CorpusFiles().Count(), 25, 100);
        Assert.Contains(CorpusFiles(), IsXml);
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task AFakeTranslationKeepsTheStructureAndPutsEachTextWhereItsSourceWas(string file)
    {
        var xml = IsXml(file);
        var source = Parse(Read(file), xml);

        var output = await TranslateAsync(Read(file), xml, Uppercase);

        AssertStructureKept(source, output, xml);
        var translated = Parse(output, xml);
        Assert.Equal(Text(source, xml, t => t.ToUpper(CultureInfo.InvariantCulture)), Text(translated, xml));
        if (!xml)
        {
            Assert.Equal(TranslatableAttributes(source).Select(UpperCaseValue).Order(StringComparer.Ordinal),
                TranslatableAttributes(translated));
        }
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task AReorderingTranslationKeepsTheStructure(string file)
    {
        var xml = IsXml(file);

        var output = await TranslateAsync(Read(file), xml, Reverse);

        AssertStructureKept(Parse(Read(file), xml), output, xml);
    }

    [Theory]
    [MemberData(nameof(ModelCorpus))]
    public async Task TheShippedModelsTranslationKeepsTheStructure(string file)
    {
        using var app = new TestApp(storage);
        var service = app.Get<TranslationService>();
        var xml = IsXml(file);
        var calls = 0;

        var output = await TranslateAsync(Read(file), xml, async (segments, cancellationToken) =>
        {
            calls++;
            var outcome = await service.TranslateAsync(null, new TranslationRequest(segments), "test", WorkPriority.Interactive,
                cancellationToken);
            return [.. outcome.Result.Translations.Select(t => t.Text)];
        });

        Assert.Equal(1, calls);
        AssertStructureKept(Parse(Read(file), xml), output, xml);
        Assert.NotEqual(Text(Parse(Read(file), xml), xml), Text(Parse(output, xml), xml));
    }

    private static string UpperCaseValue(string attribute)
    {
        var value = attribute.IndexOf('=', StringComparison.Ordinal) + 1;
        return attribute[..value] + attribute[value..].ToUpper(CultureInfo.InvariantCulture);
    }

    /// <summary>(a) the same elements, (b) output that parses back to them and is its own serialisation, (c) untouched
    /// parts and kept attributes byte-identical to the input's serialisation.</summary>
    private static void AssertStructureKept(AngleSharp.Dom.INode source, string output, bool xml)
    {
        if (xml)
        {
            AssertWellFormedXml(output);
        }

        var translated = Parse(output, xml);
        Assert.Equal(TagNames(source), TagNames(translated));
        Assert.Equal(output, Serialise(translated, xml));
        Assert.Equal(KeptAttributes(source, xml), KeptAttributes(translated, xml));
        var untouched = UntouchedParts(source, xml);
        Assert.Equal(untouched, UntouchedParts(translated, xml));
        Assert.All(untouched, part => Assert.Contains(part, output, StringComparison.Ordinal));
    }
}
