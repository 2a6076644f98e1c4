using Microsoft.Extensions.Configuration;
using ServerlessInference.Compat;
using ServerlessInference.ModelHosting;
using Xunit;

namespace ServerlessInference.Tests.Compat;

public sealed class LanguageMappingTests
{
    private static LanguageRouter Router(params (string Name, string? Languages)[] entries) =>
        new(new ModelCatalog(Microsoft.Extensions.Options.Options.Create(new ModelsOptions
        {
            DefaultModel = entries[0].Name,
            Catalog = entries.Select(e => new ModelCatalogEntry { Name = e.Name, Prefix = e.Name + "/", Languages = e.Languages }).ToList(),
        })));

    [Theory]
    [InlineData("en>zh", "en", "zh:")]
    [InlineData(" EN > ZH-hans = cmn_Hans , zh-hant=cmn_Hant", "en", "zh-Hans:cmn_Hans zh-Hant:cmn_Hant")]
    [InlineData("de>en-gb,pt-br", "de", "en-GB: pt-BR:")]
    public void LanguagesAreReadInTheirUsualSpelling(string value, string source, string targets)
    {
        Assert.True(ModelLanguages.TryParse(value, out var languages));

        Assert.Equal(source, languages.Source);
        Assert.Equal(targets, string.Join(' ', languages.Targets.Select(t => $"{t.Code}:{t.Token}")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("en")]
    [InlineData("en>")]
    [InlineData("en>zh>fr")]
    [InlineData("english>zh")]
    [InlineData("en>zh=cmn Hans")]
    [InlineData("en>zh=a=b")]
    [InlineData("en>zh,ZH")]
    [InlineData("en>zh-Hans-CN")]
    public void MalformedLanguagesAreRefused(string value) => Assert.False(ModelLanguages.TryParse(value, out _));

    [Fact]
    public void TheCatalogValidatorNamesAMalformedLanguagesSetting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }).Build();
        var options = new ModelsOptions
        {
            Catalog = [new ModelCatalogEntry { Name = ModelsOptions.DefaultModelName, Prefix = "m/", Languages = "en-zh" }],
        };

        var result = new ModelsOptionsValidator(configuration).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Models:Catalog:0:Languages 'en-zh'", result.FailureMessage);
    }

    [Fact]
    public void TheShippedModelTranslatesEnglishIntoSimplifiedChineseUnlessItsEntrySaysOtherwise()
    {
        var router = Router((ModelsOptions.DefaultModelName, null), ("undeclared", null));

        Assert.Equal(["en"], router.Sources);
        Assert.Equal(["zh-Hans"], router.Targets);
        Assert.Equal(new LanguageRoute(ModelsOptions.DefaultModelName, "en", "zh-Hans", null), router.Find("en", "zh"));
        Assert.Null(router.Find("en", "zh-Hant"));
        Assert.Null(router.Find("de", "zh"));
    }

    [Theory]
    [InlineData("en", "zh", "multi", "zh-Hans", "cmn_Hans")]
    [InlineData("en", "ZH-HANT", "multi", "zh-Hant", "cmn_Hant")]
    [InlineData(null, "zh-hans", "multi", "zh-Hans", "cmn_Hans")]
    [InlineData("en", "fr", "french", "fr", null)]
    [InlineData(null, "fr", "french", "fr", null)]
    [InlineData("de", "fr", "german", "fr", null)]
    public void APairGoesToTheFirstModelThatServesItWithItsTargetToken(string? source, string target, string model, string code,
        string? token)
    {
        var router = Router(("multi", "en>zh-Hant=cmn_Hant,zh-Hans=cmn_Hans"), ("french", "en>fr"), ("german", "de>fr"));

        Assert.Equal(new LanguageRoute(model, ModelLanguages.Primary(model == "german" ? "de" : "en"), code, token),
            router.Find(source, target));
    }

    [Fact]
    public void AVariantNoModelWritesDoesNotFallBackToAnother()
    {
        var router = Router(("traditional", "en>zh-Hant=cmn_Hant"));

        Assert.Equal("zh-Hant", router.Find("en", "zh")!.Target);
        Assert.Null(router.Find("en", "zh-Hans"));
        Assert.False(router.IsTarget("zh-Hans"));
    }

    [Fact]
    public void LibreTranslateListsEverySourceWithItsTargetsThenTargetOnlyLanguages()
    {
        var router = Router(("multi", "en>zh-Hans=cmn_Hans,zh-Hant=cmn_Hant"), ("back", "zh>en"));

        var languages = LibreTranslateApi.Languages(router);

        Assert.Equal(["en: zh-Hans zh-Hant", "zh: en", "zh-Hans: ", "zh-Hant: "],
            languages.Select(l => $"{l.Code}: {string.Join(' ', l.Targets)}"));
        Assert.Equal("Chinese (simplified)", languages[2].Name);
    }

    [Fact]
    public void DeepLListsSourcesWithoutVariantsAndTargetsWithTheBareCodeBesideTheVariants()
    {
        var router = Router(("multi", "en>zh-Hans=cmn_Hans,zh-Hant=cmn_Hant"));

        Assert.Equal(["EN"], DeepLApi.Languages(router, "source").Select(l => l.Language));
        Assert.Equal(["ZH", "ZH-HANS", "ZH-HANT"], DeepLApi.Languages(router, "TARGET").Select(l => l.Language));
        Assert.Equal("English", DeepLApi.Languages(router, null)[0].Name);
    }
}
