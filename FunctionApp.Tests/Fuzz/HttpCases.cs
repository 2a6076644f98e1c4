using System.Text;
using ServerlessInference.Engine;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.Serving;
using static ServerlessInference.Tests.Fuzz.FuzzJson;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>Seeded generators of requests for the HTTP functions. Each yields its cases lazily (huge bodies are
/// built one at a time) and in the same order for the same seed.</summary>
internal static class HttpCases
{
    public const string JsonType = "application/json";

    private static readonly int[] Ok = [200], Accepted = [202], Bad = [400], NotFound = [404], TooLarge = [413],
        Unsupported = [415], BadOrNotFound = [400, 404];

    private static readonly string[] Words =
        ["Hello.", "Good night.", "I like tea.", "Where is the station?", "Thank you.", "It is raining.", "See you tomorrow."];

    private static readonly (string Description, string Body)[] BrokenJson =
    [
        ("empty", ""), ("a space", " "), ("a newline", "\n"), ("open brace", "{"), ("close brace", "}"), ("open bracket", "["),
        ("close bracket", "]"), ("name only", "{\"text\""), ("name and colon", "{\"text\":"), ("unclosed object", "{\"text\":\"Hello.\""),
        ("trailing comma", "{\"text\":\"Hello.\",}"), ("missing comma", "{\"text\":\"Hello.\" \"beams\":1}"),
        ("single quotes", "{'text':'Hello.'}"), ("unquoted name", "{text:\"Hello.\"}"), ("unquoted value", "{\"text\":Hello}"),
        ("extra close brace", "{\"text\":\"Hello.\"}}"), ("two objects", "{\"text\":\"Hello.\"}{\"text\":\"Hi.\"}"),
        ("NUL after the object", "{\"text\":\"Hello.\"}\u0000"), ("line comment", "// c\n{\"text\":\"Hello.\"}"),
        ("block comment", "{\"text\":\"Hello.\" /* c */}"), ("NaN", "{\"text\":\"Hello.\",\"beams\":NaN}"),
        ("Infinity", "{\"text\":\"Hello.\",\"beams\":Infinity}"), ("-Infinity", "{\"text\":\"Hello.\",\"beams\":-Infinity}"),
        ("leading zero", "{\"text\":\"Hello.\",\"beams\":01}"), ("plus sign", "{\"text\":\"Hello.\",\"beams\":+1}"),
        ("bare fraction", "{\"text\":\"Hello.\",\"beams\":.5}"), ("trailing dot", "{\"text\":\"Hello.\",\"beams\":1.}"),
        ("hex number", "{\"text\":\"Hello.\",\"beams\":0x10}"), ("dangling exponent", "{\"text\":\"Hello.\",\"beams\":1e}"),
        ("invalid escape", "{\"text\":\"Hel\\lo.\"}"), ("short unicode escape", "{\"text\":\"\\u12\"}"),
        ("non-hex unicode escape", "{\"text\":\"\\uZZZZ\"}"), ("\\x escape", "{\"text\":\"\\x41\"}"),
        ("raw tab in a string", "{\"text\":\"a\tb\"}"), ("raw newline in a string", "{\"text\":\"a\nb\"}"),
        ("raw control in a string", "{\"text\":\"a\u0001b\"}"), ("undefined", "{\"text\":undefined}"),
        ("Python None", "{\"text\":\"Hello.\",\"model\":None}"), ("Python True", "{\"text\":\"Hello.\",\"beams\":True}"),
        ("trailing comma in an array", "{\"texts\":[\"a\",]}"), ("missing comma in an array", "{\"texts\":[\"a\" \"b\"]}"),
        ("equals sign", "{\"text\"=\"Hello.\"}"), ("semicolon", "{\"text\";\"Hello.\"}"), ("XML", "<text>Hello.</text>"),
        ("form encoding", "text=Hello."), ("missing open brace", "\"text\":\"Hello.\"}"), ("double braces", "{{\"text\":\"Hello.\"}}"),
        ("no-break space after", "{\"text\":\"Hello.\"}\u00a0"), ("no-break space before", "\u00a0{\"text\":\"Hello.\"}"),
        ("no-break space inside", "{\"text\"\u00a0:\"Hello.\"}"), ("unterminated string", "{\"text\":\"Hello.}"),
        ("JSON lines", "{\"text\":\"Hello.\"}\n{\"text\":\"Hi.\"}"),
        // One rule for every JSON the app reads: a field given twice is an error, never "the last one wins".
        ("repeated field", "{\"text\":\"Hello.\",\"text\":\"Hi.\"}"), ("repeated beams", "{\"text\":\"Hello.\",\"beams\":99,\"beams\":1}"),
        ("repeated field, escaped", "{\"text\":\"Hello.\",\"t\\u0065xt\":\"Hi.\"}"),
        ("repeated nested field", "{\"text\":\"Hello.\",\"x\":{\"a\":1,\"a\":2}}"),
    ];

    private static readonly string[] TrailingJunk = ["x", "}", "]", ",", "{}", "\"", "0", "null", "[]", ";"];

    private static readonly string[] NonObjects =
        ["[]", "[{\"text\":\"Hello.\"}]", "\"Hello.\"", "1", "-1", "0.5", "null", "true", "false", "\"\"", "[null]"];

    private static readonly string[] NotJsonContentTypes =
    [
        "text/plain", "text/plain; charset=utf-8", "application/xml", "text/xml", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/octet-stream", "application/jsonp", "application/json-patch",
        "application/javascript", "application/jsonl", "text/html; charset=utf-8", "image/png", "json", "application",
        "*/*", "application/*", "", " ", "garbage;;;", "application/json/extra", "\u0000",
    ];

    private static readonly string[] NotUtf8Charsets =
    [
        "utf-16", "utf-16le", "UTF-16BE", "utf-32", "iso-8859-1", "latin1", "windows-1252", "us-ascii", "shift_jis",
        "gb2312", "gbk", "utf-7", "ebcdic-cp-us", "bogus", "\"\"", "utf-8x", "utf-88",
    ];

    private static readonly string[] Utf8ContentTypes =
        ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON; CHARSET=UTF-8", "application/json;charset=\"utf-8\""];

    private static readonly (string Name, byte[] Bytes)[] InvalidUtf8 =
    [
        ("0xFF", [0xFF]), ("0xFE", [0xFE]), ("overlong NUL", [0xC0, 0x80]), ("overlong '?'", [0xC1, 0xBF]),
        ("overlong 3-byte", [0xE0, 0x80, 0x80]), ("encoded high surrogate (CESU-8)", [0xED, 0xA0, 0x80]),
        ("encoded low surrogate", [0xED, 0xBF, 0xBF]), ("encoded surrogate pair", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]), ("0xF5 lead byte", [0xF5, 0x80, 0x80, 0x80]),
        ("lone continuation byte", [0x80]), ("lone continuation 0xBF", [0xBF]), ("truncated 3-byte", [0xE4, 0xB8]),
        ("truncated 4-byte", [0xF0, 0x9F, 0x98]), ("lone 2-byte lead", [0xC3]),
    ];

    private static readonly string[] LoneSurrogates = ["\ud800", "\udbff", "\udc00", "\udfff", "\udc00\ud800", "\ud800\ud800", "\ud83d"];

    private static readonly string[] UnicodeJunk =
    [
        "😀", "👩‍👩‍👧‍👦", "🇨🇳", "e\u0301\u0301\u0301", "\u202eevil\u202c", "\u200b\u200c\u200d", "\ufeff",
        "\uffff", "\ufffe", "\ue000", "\udbff\udfff", "中文", "العربية", "हिन्दी",
        "Ｆｕｌｌｗｉｄｔｈ", "ﬁ", "Ⅻ", "\u00a0", "\u2028", "\u2029",
        "a\u0000b", "x\u0007y", "tab\there", "line\nbreak", "\\", "\"quoted\"", "<script>alert(1)</script>", "' OR 1=1 --",
        "%s%n", "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "\u0130\u0131", "ß", "…", "\u0085", "\r\n",
    ];

    private static readonly string[] BlankModels = ["", " ", "   ", "\t", "\n", "\u00a0", "\u3000", " \t\r\n "];

    private static readonly string[] UnknownModels =
        ["fr-de", "opus-mt-en-zh", "marian-tiny-en-zh2", "marian-tiny-en-z", "marian_tiny_en_zh", "default", "null", "0"];

    /// <summary>Model names shaped like paths or with characters no catalog name has: unknown (404) or refused
    /// outright (400), never resolved to a model.</summary>
    private static readonly string[] HostileModels =
    [
        "../models/marian-tiny-en-zh", "../marian-tiny-en-zh", "marian-tiny-en-zh/", "/marian-tiny-en-zh",
        "marian-tiny-en-zh/../marian-tiny-en-zh", "models/marian-tiny-en-zh", "marian-tiny-en-zh\u0000",
        "marian-tiny-en-zh%2f..", "%2e%2e/marian-tiny-en-zh", "marian-tiny-en-zh/onnx/encoder_model.onnx", "..", ".", "*",
        "con", "marian-tiny-en-zh\\..\\x", "mаrian-tiny-en-zh", "marian-tiny-en-zh\u200b", "\ud800", "😀",
        "marian-tiny-en-zh\n", new string('m', 5000),
    ];

    private static readonly string[] OddFieldNames =
    [
        "beam", "max_new_tokens", "maxnewtokens", "MaxNewTokens", "Beams", "MODEL", "models", "", " ", "__proto__",
        "constructor", "$type", "$id", "\u0000", "🙂", "\ud800", "\udfff", "te\u0000xt", "textе", "text\u200b", "text ",
        " text", "options", "input", "prompt", new string('x', 5000),
    ];

    private static readonly string[] AnyValues = ["1", "\"x\"", "null", "true", "[]", "{}", "[1,2]", "{\"a\":null}", "\"\"", "-0.5"];

    // ---------------------------------------------------------------------------------------------------------
    // POST /api/translate

    public static IEnumerable<HttpCase> Translate(int seed, int modelMaxNewTokens)
    {
        var random = new Random(seed);
        var limits = new RequestLimitsOptions();
        var engine = new EngineOptions();
        var bodyLimit = new HttpOptions().MaxRequestBodyBytes;
        var make = new Maker(random, "translate");
        string Word() => random.Pick(Words);
        string Small() => Int(random.Next(1, 5));
        string Valid() => Obj(("text", Str(Word())), ("maxNewTokens", Small()));
        string WithText(string rawValue) => Obj(("text", rawValue), ("maxNewTokens", Small()));
        string WithField(string name, string rawValue) => Obj(("text", Str(Word())), (name, rawValue), ("maxNewTokens", Small()));
        string WithTexts(IEnumerable<string> texts) => Obj(("texts", StrArr(texts)), ("maxNewTokens", Small()));

        foreach (var c in Malformed(make, random, Valid, WithText, prefixes: 30, stride: 1))
        {
            yield return c;
        }

        // Wrong types, one field at a time.
        string[] notText = ["1", "-1", "1.5", "true", "false", "[]", "{}", "[\"Hello.\"]", "{\"text\":\"Hello.\"}", "null", "[[\"a\"]]"];
        foreach (var v in notText)
        {
            yield return make.Case("wrong-type", $"text {v}", WithText(v), Bad);
        }
        string[] notTexts =
        [
            "\"Hello.\"", "1", "true", "{}", "null", "[]", "[1]", "[null]", "[\"a\",1]", "[[\"a\"]]", "[{}]", "[\"a\",null]", "[true]",
            "{\"0\":\"a\"}",
        ];
        foreach (var v in notTexts)
        {
            yield return make.Case("wrong-type", $"texts {v}", Obj(("texts", v), ("maxNewTokens", Small())), Bad);
        }
        (string Field, string[] Values)[] notOptions =
        [
            ("model", ["1", "true", "[]", "{}", "[\"marian-tiny-en-zh\"]", "{\"name\":\"marian-tiny-en-zh\"}"]),
            ("beams", ["\"2\"", "\"\"", "1.5", "true", "[]", "{}", "[1]", "2.5", "\"one\""]),
            ("maxNewTokens", ["\"4\"", "1.5", "false", "[]", "{}", "[4]", "0.1", "\"\"", "4.000001"]),
        ];
        foreach (var (field, values) in notOptions)
        {
            foreach (var v in values)
            {
                yield return make.Case("wrong-type", $"{field} {v}", Obj(("text", Str(Word())), (field, v)), Bad);
            }
        }
        yield return make.Case("wrong-type", "neither text nor texts", Obj(("maxNewTokens", Small())), Bad);
        yield return make.Case("wrong-type", "empty object", "{}", Bad);
        yield return make.Case("wrong-type", "text and texts", Obj(("text", Str(Word())), ("texts", StrArr([Word()]))), Bad);
        yield return make.Case("wrong-type", "empty texts", Obj(("texts", "[]")), Bad);
        yield return make.Case("wrong-type", "blank text", WithText(Str("   ")), Bad);
        yield return make.Case("wrong-type", "empty text", WithText(Str("")), Bad);
        yield return make.Case("wrong-type", "a blank item in texts", WithTexts([Word(), " \t"]), Bad);

        foreach (var c in UnknownFields(make, random, Valid, ["text", "texts", "model", "beams", "maxNewTokens"]))
        {
            yield return c;
        }

        foreach (var c in Oversized(make, Valid, bodyLimit))
        {
            yield return c;
        }
        foreach (var sendLength in new[] { true, false })
        {
            var longText = WithText(Str(new string('a', 1 << 20)));
            yield return make.Case("too-large", "a 1 MiB text", longText, TooLarge) with { SendsContentLength = sendLength };
            var escapes = WithText("\"" + string.Concat(Enumerable.Repeat("\\u0041", 60_000)) + "\"");
            yield return make.Case("too-large", "a text of 60,000 \\u0041 escapes", escapes, TooLarge) with
            {
                SendsContentLength = sendLength,
            };
        }
        var tooLong = WithText(Str(new string('a', limits.MaxCharacters + 1)));
        yield return make.Case("too-large", $"one more character than {limits.MaxCharacters}", tooLong, TooLarge);
        var halves = Obj(("texts", StrArr([new string('b', limits.MaxCharacters / 2 + 1), new string('c', limits.MaxCharacters / 2 + 1)])));
        yield return make.Case("too-large", "characters summed over texts past the limit", halves, TooLarge);
        var tooMany = Obj(("texts", StrArr(Enumerable.Repeat("a", limits.MaxTexts + 1))));
        yield return make.Case("too-large", $"{limits.MaxTexts + 1} texts", tooMany, TooLarge);
        yield return make.Case("too-large", "10,000 texts", Obj(("texts", StrArr(Enumerable.Repeat("a", 10_000)))), TooLarge);

        foreach (var c in ContentTypes(make, Valid, Ok, translations: 1))
        {
            yield return c;
        }
        foreach (var c in BadUtf8(make, random, WithText, Word))
        {
            yield return c;
        }
        foreach (var c in ControlOnly(make, random, WithText, WithTexts, Word))
        {
            yield return c;
        }

        foreach (var m in BlankModels)
        {
            yield return make.Case("blank-model", $"model {Preview(Str(m))}", WithField("model", Str(m)), Bad);
        }
        foreach (var m in UnknownModels.Concat(Enumerable.Range(0, 12).Select(_ => RandomName(random))))
        {
            yield return make.Case("unknown-model", $"model {m}", WithField("model", Str(m)), NotFound);
        }
        foreach (var m in HostileModels)
        {
            yield return make.Case("hostile-model", $"model {Preview(Str(m), 60)}", WithField("model", Str(m)), BadOrNotFound);
        }

        string[] badBeams =
        [
            "0", "-1", Int(engine.MaxBeams + 1), "64", "65", "1000", Int(int.MaxValue), Int(int.MinValue), "2147483648",
            "99999999999999999999", "-0", "1e400",
        ];
        foreach (var b in badBeams)
        {
            yield return make.Case("out-of-range", $"beams {b}", WithField("beams", b), Bad);
        }
        string[] badMaxNewTokens =
        [
            "0", "-1", Int(modelMaxNewTokens + 1), Int(modelMaxNewTokens + 2), "255", "511", "512", "513", "100000",
            Int(int.MaxValue), "2147483648", "-2147483649",
        ];
        foreach (var n in badMaxNewTokens)
        {
            yield return make.Case("out-of-range", $"maxNewTokens {n}", Obj(("text", Str(Word())), ("maxNewTokens", n)), Bad);
        }

        // Valid, if odd: these are translated, so they stay short.
        foreach (var s in LoneSurrogates)
        {
            var inside = WithText(Str($"{Word()} {s} {Word()}"));
            yield return make.Case("lone-surrogate", $"text with {Str(s)} inside", inside, Ok) with { Translations = 1 };
            var ending = WithText(Str(Word() + s));
            yield return make.Case("lone-surrogate", $"text ending in {Str(s)}", ending, Ok) with { Translations = 1 };
        }
        var each = WithTexts(LoneSurrogates.Take(3).Select(s => s + Word()));
        yield return make.Case("lone-surrogate", "texts each with a lone surrogate", each, Ok) with { Translations = 3 };
        for (var i = 0; i < 24; i++)
        {
            var count = random.Next(1, 4);
            var texts = Enumerable.Range(0, count).Select(_ => $"{Word()} {random.Pick(UnicodeJunk)}{random.Pick(UnicodeJunk)}").ToList();
            var body = count == 1 ? WithText(Str(texts[0])) : WithTexts(texts);
            yield return make.Case("valid-unicode", Preview(body, 100), body, Ok) with { Translations = count };
        }
        (string Description, string Body)[] validOptions =
        [
            ("model by its name", WithField("model", Str(RepoPaths.ShippedModelName))),
            ("model name in upper case", WithField("model", Str(RepoPaths.ShippedModelName.ToUpperInvariant()))),
            ("null model", WithField("model", "null")),
            ("null beams", WithField("beams", "null")),
            ("two beams", WithField("beams", "2")),
            ($"maxNewTokens {modelMaxNewTokens}, greedy",
                Obj(("text", Str("Hi.")), ("beams", "1"), ("maxNewTokens", Int(modelMaxNewTokens)))),
            ("text padded with whitespace", WithText(Str("  \n\t" + Word() + " \r\n "))),
            ("JSON whitespace around the object", " \n\t" + Valid() + "\r\n "),
            ("escaped ASCII", WithText("\"\\u0048\\u0069\\u002e\"")),
            ("escaped surrogate pair", WithText("\"Hi \\ud83d\\ude00\"")),
        ];
        foreach (var (description, body) in validOptions)
        {
            yield return make.Case("valid-options", description, body, Ok) with { Translations = 1 };
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // POST /api/jobs

    /// <summary>Blobs the submit cases name; the test uploads them to the jobs container first.</summary>
    public static IReadOnlyDictionary<string, byte[]> SubmitInputBlobs { get; } = new Dictionary<string, byte[]>
    {
        ["inputs/fuzz/good.jsonl"] = Utf8("{\"id\":\"1\",\"text\":\"Hello.\"}\n{\"id\":\"2\",\"text\":\"Thank you.\"}\n"),
        ["inputs/fuzz/a..b/c-d_e.9"] = Utf8("{\"id\":\"x\",\"text\":\"Good night.\"}\n"),
        ["inputs/fuzz/empty.jsonl"] = [],
        ["inputs/fuzz/blank-lines.jsonl"] = Utf8("\n\n  \n\r\n"),
        ["inputs/fuzz/not-json.jsonl"] = Utf8("hello\nworld\n"),
        ["inputs/fuzz/array-line.jsonl"] = Utf8("[\"Hello.\"]\n"),
        ["inputs/fuzz/missing-text.jsonl"] = Utf8("{\"id\":\"1\"}\n"),
        ["inputs/fuzz/null-text.jsonl"] = Utf8("{\"id\":\"1\",\"text\":null}\n"),
        ["inputs/fuzz/number-text.jsonl"] = Utf8("{\"id\":\"1\",\"text\":5}\n"),
        ["inputs/fuzz/blank-text.jsonl"] = Utf8("{\"id\":\"1\",\"text\":\"   \"}\n"),
        ["inputs/fuzz/missing-id.jsonl"] = Utf8("{\"text\":\"Hello.\"}\n"),
        ["inputs/fuzz/number-id.jsonl"] = Utf8("{\"id\":1,\"text\":\"Hello.\"}\n"),
        ["inputs/fuzz/control-text.jsonl"] = Utf8("{\"id\":\"1\",\"text\":\"\\u0001\\u0002\\u007f\"}\n"),
        ["inputs/fuzz/invalid-utf8.jsonl"] = Concat(Utf8("{\"id\":\"1\",\"text\":\"Hello "), [0xFF, 0xC0, 0x80], Utf8("\"}\n")),
        ["inputs/fuzz/deep.jsonl"] =
            Utf8("{\"id\":\"1\",\"text\":\"Hello.\",\"x\":" + new string('[', 1000) + new string(']', 1000) + "}\n"),
        ["inputs/fuzz/second-line-broken.jsonl"] = Utf8("{\"id\":\"1\",\"text\":\"Hello.\"}\n{\"id\":\"2\",\n"),
        ["inputs/fuzz/binary.jsonl"] = [0x00, 0x01, 0xFF, 0xFE, 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
    };

    public static IEnumerable<HttpCase> Submit(int seed, int modelMaxNewTokens)
    {
        var random = new Random(seed);
        var engine = new EngineOptions();
        var make = new Maker(random, "submit");
        string Word() => random.Pick(Words);
        string Valid() => Obj(("texts", StrArr([Word()])));
        string WithText(string rawValue) => Obj(("texts", Arr([rawValue])));
        string WithField(string name, string rawValue) => Obj(("texts", StrArr([Word()])), (name, rawValue));

        foreach (var c in Malformed(make, random, Valid, WithText, prefixes: 12, stride: 2))
        {
            yield return c;
        }

        string[] notTexts = ["\"Hello.\"", "1", "true", "{}", "null", "[]", "[1]", "[null]", "[\"a\",1]", "[[\"a\"]]", "[{}]", "[true]"];
        foreach (var v in notTexts)
        {
            yield return make.Case("wrong-type", $"texts {v}", Obj(("texts", v)), Bad);
        }
        string[] notBlobNames = ["1", "true", "[]", "{}", "[\"inputs/fuzz/good.jsonl\"]", "{\"name\":\"inputs/fuzz/good.jsonl\"}"];
        foreach (var v in notBlobNames)
        {
            yield return make.Case("wrong-type", $"inputBlob {v}", Obj(("inputBlob", v)), Bad);
        }
        (string, string)[] notOptions =
        [
            ("model", "1"), ("model", "[]"), ("beams", "\"2\""), ("beams", "1.5"), ("beams", "{}"), ("maxNewTokens", "\"4\""),
            ("maxNewTokens", "true"),
        ];
        foreach (var (field, v) in notOptions)
        {
            yield return make.Case("wrong-type", $"{field} {v}", WithField(field, v), Bad);
        }
        yield return make.Case("wrong-type", "empty object", "{}", Bad);
        yield return make.Case("wrong-type", "only a model", Obj(("model", Str(RepoPaths.ShippedModelName))), Bad);
        yield return make.Case("wrong-type", "texts and inputBlob", WithField("inputBlob", Str("inputs/fuzz/good.jsonl")), Bad);
        yield return make.Case("wrong-type", "null texts and null inputBlob", Obj(("texts", "null"), ("inputBlob", "null")), Bad);
        yield return make.Case("wrong-type", "a blank text", Obj(("texts", StrArr([Word(), "  "]))), Bad);
        yield return make.Case("wrong-type", "'text' instead of 'texts'", Obj(("text", Str(Word()))), Bad);

        foreach (var c in UnknownFields(make, random, Valid, ["texts", "inputBlob", "model", "beams", "maxNewTokens"]))
        {
            yield return c;
        }

        foreach (var c in Oversized(make, Valid, new HttpOptions().MaxRequestBodyBytes))
        {
            yield return c;
        }
        var tooMany = Obj(("texts", StrArr(Enumerable.Repeat("a", JobsOptions.MaxItems + 1))));
        yield return make.Case("too-large", $"{JobsOptions.MaxItems + 1} texts", tooMany, TooLarge);

        foreach (var c in ContentTypes(make, Valid, Accepted, translations: null).Where((_, i) => i % 2 == 0))
        {
            yield return c;
        }
        foreach (var c in BadUtf8(make, random, WithText, Word).Where((_, i) => i % 3 == 0))
        {
            yield return c;
        }
        foreach (var c in ControlOnly(make, random, WithText, texts => Obj(("texts", StrArr(texts))), Word).Where((_, i) => i % 2 == 0))
        {
            yield return c;
        }

        foreach (var m in BlankModels.Take(4))
        {
            yield return make.Case("blank-model", $"model {Preview(Str(m))}", WithField("model", Str(m)), Bad);
        }
        foreach (var m in UnknownModels.Take(4).Append(RandomName(random)))
        {
            yield return make.Case("unknown-model", $"model {m}", WithField("model", Str(m)), NotFound);
        }
        foreach (var m in HostileModels.Where((_, i) => i % 3 == 0))
        {
            yield return make.Case("hostile-model", $"model {Preview(Str(m), 60)}", WithField("model", Str(m)), BadOrNotFound);
        }
        foreach (var b in new[] { "0", "-1", Int(engine.MaxBeams + 1), "2147483648" })
        {
            yield return make.Case("out-of-range", $"beams {b}", WithField("beams", b), Bad);
        }
        foreach (var n in new[] { "0", "-1", Int(modelMaxNewTokens + 1), "512", "513", "2147483648" })
        {
            yield return make.Case("out-of-range", $"maxNewTokens {n}", WithField("maxNewTokens", n), Bad);
        }

        foreach (var name in HostileInputBlobNames(random))
        {
            yield return make.Case("input-blob-name", $"inputBlob {Preview(Str(name), 100)}", Obj(("inputBlob", Str(name))), Bad);
        }
        foreach (var name in SubmitInputBlobs.Keys.Where(n => !n.Contains("good") && !n.Contains("c-d_e")))
        {
            yield return make.Case("input-blob-content", $"inputBlob {name}", Obj(("inputBlob", Str(name))), Bad);
        }
        for (var i = 0; i < 4; i++)
        {
            var missing = Obj(("inputBlob", Str($"inputs/fuzz/missing-{RandomName(random)}.jsonl")));
            yield return make.Case("input-blob-content", "inputBlob that does not exist", missing, Bad);
        }

        yield return make.Case("valid", "inputBlob of two lines", Obj(("inputBlob", Str("inputs/fuzz/good.jsonl"))), Accepted);
        var oddName = Obj(("inputBlob", Str("inputs/fuzz/a..b/c-d_e.9")), ("beams", "1"));
        yield return make.Case("valid", "inputBlob with dots, dashes and underscores", oddName, Accepted);
        var options = Obj(("texts", StrArr([Word(), Word()])), ("model", Str(RepoPaths.ShippedModelName)), ("beams", "2"),
            ("maxNewTokens", Int(modelMaxNewTokens)));
        yield return make.Case("valid", "texts with options", options, Accepted);
        var nulls = Obj(("texts", StrArr([Word()])), ("model", "null"), ("beams", "null"), ("maxNewTokens", "null"));
        yield return make.Case("valid", "null options", nulls, Accepted);
        foreach (var s in LoneSurrogates.Take(3))
        {
            yield return make.Case("valid", $"texts with a lone surrogate {Str(s)}", Obj(("texts", StrArr([$"{Word()} {s}"]))), Accepted);
        }
        for (var i = 0; i < 3; i++)
        {
            var junk = Obj(("texts", StrArr([$"{Word()} {random.Pick(UnicodeJunk)}", random.Pick(UnicodeJunk) + Word()])));
            yield return make.Case("valid", "texts with unicode junk", junk, Accepted);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // GET /api/jobs/{jobId}

    public static IEnumerable<HttpCase> Get(int seed, IReadOnlyList<string> existingJobIds)
    {
        var random = new Random(seed);
        HttpCase Make(string cls, string description, string jobId, int[] expected)
        {
            // The route value is what matters; a junk body or content type must not.
            var body = random.Next(3) == 0 ? Utf8(random.Pick(BrokenJson).Body) : [];
            var contentType = random.Next(3) == 0 ? random.Pick(NotJsonContentTypes) : null;
            return new HttpCase("get/" + cls, description, body, contentType, expected)
            {
                Method = "GET",
                JobId = jobId,
                SendsContentLength = random.Next(2) == 0,
            };
        }

        foreach (var (description, id) in HostileJobIds(random))
        {
            yield return Make("malformed-id", description, id, Bad);
        }

        for (var i = 0; i < 20; i++)
        {
            yield return Make("unknown-id", "32 hex digits, no such job", JobIdShape(random), NotFound);
        }

        foreach (var id in existingJobIds)
        {
            yield return Make("existing-id", "a submitted job", id, Ok);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // GET /api/health

    public static IEnumerable<HttpCase> Health(int seed)
    {
        var random = new Random(seed);
        string[] queries =
        [
            "?model=../models/x", "?%ff%fe", "?a=\u0000", "?" + new string('q', 10_000), "?model=marian-tiny-en-zh&load=true",
            "?=&&=", "?x=%2e%2e%2f",
        ];
        for (var i = 0; i < 30; i++)
        {
            byte[] body = random.Next(4) switch
            {
                0 => [],
                1 => Utf8(random.Pick(BrokenJson).Body),
                2 => RandomBytes(random, random.Next(1, 300)),
                _ => Padded("{}", 1 << 20),
            };
            var contentType = random.Next(2) == 0 ? random.Pick(NotJsonContentTypes) : random.Pick(Utf8ContentTypes);
            yield return new HttpCase("health/any-request", $"case {i}", body, contentType, Ok)
            {
                Method = "GET",
                Query = random.Next(2) == 0 ? random.Pick(queries) : null,
                SendsContentLength = random.Next(2) == 0,
            };
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Shared generators

    /// <summary>Makes cases and picks, at random, whether each sends a Content-Length.</summary>
    private sealed class Maker(Random random, string function)
    {
        public HttpCase Case(string cls, string description, byte[] body, int[] expected, string? contentType = JsonType) =>
            new($"{function}/{cls}", description, body, contentType, expected) { SendsContentLength = random.Next(2) == 0 };

        public HttpCase Case(string cls, string description, string json, int[] expected, string? contentType = JsonType) =>
            Case(cls, description, Utf8(json), expected, contentType);
    }

    /// <summary>Broken JSON, roots that are not objects, and deep nesting; <paramref name="stride"/> 2 takes every
    /// other broken body (a second function needs fewer to show it shares the parser).</summary>
    private static IEnumerable<HttpCase> Malformed(Maker make, Random random, Func<string> valid, Func<string, string> withText,
        int prefixes, int stride)
    {
        foreach (var (description, body) in BrokenJson.Where((_, i) => i % stride == 0))
        {
            yield return make.Case("invalid-json", description, body, Bad);
        }
        // Every strict prefix of a JSON object is incomplete.
        var sample = Utf8(valid());
        foreach (var cut in Enumerable.Range(0, prefixes).Select(_ => random.Next(sample.Length)).Distinct().Order())
        {
            yield return make.Case("invalid-json", $"cut after {cut} bytes", sample[..cut], Bad);
        }

        foreach (var junk in TrailingJunk.Where((_, i) => i % stride == 0))
        {
            yield return make.Case("invalid-json", $"'{junk}' after the object", valid() + junk, Bad);
        }

        foreach (var root in NonObjects)
        {
            yield return make.Case("non-object", root, root, Bad);
        }

        foreach (var depth in new[] { 65, 100, 1_000, 10_000 })
        {
            yield return make.Case("deep", $"array nested {depth} deep", new string('[', depth) + new string(']', depth), Bad);
            var nestedText = withText(new string('[', depth) + Str("Hello.") + new string(']', depth));
            yield return make.Case("deep", $"text nested {depth} deep in arrays", nestedText, Bad);
            var json = valid();
            var nestedField = json[..^1] + ",\"x\":" + new string('[', depth) + new string(']', depth) + "}";
            yield return make.Case("deep", $"unknown field nested {depth} deep", nestedField, Bad);
            var objects = Math.Min(depth, 2_000);
            var nestedObjects = string.Concat(Enumerable.Repeat("{\"a\":", objects)) + "1" + new string('}', objects);
            yield return make.Case("deep", $"objects nested {objects} deep", nestedObjects, Bad);
        }
    }

    /// <summary>Bodies over the app's limit and over Kestrel's, sent with and without Content-Length, and small
    /// bodies announcing more than the limit.</summary>
    private static IEnumerable<HttpCase> Oversized(Maker make, Func<string> valid, int bodyLimit)
    {
        foreach (var size in new[] { bodyLimit + 1, HttpOptions.KestrelDefaultMaxBodyBytes + 1 }.Distinct())
        {
            foreach (var sendLength in new[] { true, false })
            {
                var padded = Padded(valid(), size);
                yield return make.Case("too-large", $"{size} bytes, whitespace padding", padded, TooLarge) with
                {
                    SendsContentLength = sendLength,
                };
            }
        }
        foreach (var declared in new[] { bodyLimit + 1L, 1L << 40, long.MaxValue })
        {
            yield return make.Case("too-large", $"Content-Length {declared} on a small body", valid(), TooLarge) with
            {
                DeclaredLength = declared,
            };
        }
    }

    private static IEnumerable<HttpCase> UnknownFields(Maker make, Random random, Func<string> valid, string[] known)
    {
        foreach (var name in OddFieldNames.Where(n => !known.Contains(n)))
        {
            var json = valid();
            var body = json[..^1] + "," + Str(name) + ":" + random.Pick(AnyValues) + "}";
            yield return make.Case("unknown-field", $"field {Preview(Str(name), 60)}", body, Bad);
        }
        for (var i = 0; i < 6; i++)
        {
            var name = RandomName(random);
            var json = valid();
            var body = json[..^1] + "," + Str(name) + ":" + random.Pick(AnyValues) + "}";
            yield return make.Case("unknown-field", $"field {name}", body, Bad);
        }
        var surrogate = valid()[..^1] + ",\"x\":\"\\ud800\"}";
        yield return make.Case("unknown-field", "a lone surrogate in an unknown field's value", surrogate, Bad);
    }

    private static IEnumerable<HttpCase> ContentTypes(Maker make, Func<string> valid, int[] ok, int? translations)
    {
        foreach (var type in NotJsonContentTypes)
        {
            yield return make.Case("content-type", $"Content-Type {Preview(type)}", valid(), Unsupported, type);
        }

        yield return make.Case("content-type", "no Content-Type", valid(), Unsupported, null);
        foreach (var charset in NotUtf8Charsets)
        {
            yield return make.Case("charset", $"charset={charset}", valid(), Unsupported, $"application/json; charset={charset}");
        }

        var utf16 = Encoding.Unicode.GetBytes(valid());
        yield return make.Case("charset", "a UTF-16 body labelled utf-16", utf16, Unsupported, "application/json; charset=utf-16");
        foreach (var type in Utf8ContentTypes)
        {
            yield return make.Case("valid-content-type", $"Content-Type {type}", valid(), ok, type) with { Translations = translations };
        }
    }

    private static IEnumerable<HttpCase> BadUtf8(Maker make, Random random, Func<string, string> withText, Func<string> word)
    {
        const string mark = "@@MARK@@";
        foreach (var (name, bytes) in InvalidUtf8)
        {
            (string Where, string Json)[] places =
            [
                ("inside the text", withText(Str($"{word()} {mark} {word()}"))),
                ("at the end of the text", withText(Str(word() + mark))),
                ("in a field name", "{\"te" + mark + "xt\":" + Str(word()) + "}"),
                ("between tokens", "{" + mark + withText(Str(word()))[1..]),
            ];
            var (where, json) = random.Pick(places);
            var parts = json.Split(mark);
            yield return make.Case("invalid-utf8", $"{name} {where}", Concat(Utf8(parts[0]), bytes, Utf8(parts[1])), Bad);
            // Every sequence also inside the text, the place a decoder is most likely to patch over.
            if (where != "inside the text")
            {
                parts = places[0].Json.Split(mark);
                yield return make.Case("invalid-utf8", $"{name} inside the text", Concat(Utf8(parts[0]), bytes, Utf8(parts[1])), Bad);
            }
        }
    }

    private static IEnumerable<HttpCase> ControlOnly(Maker make, Random random, Func<string, string> withText,
        Func<IEnumerable<string>, string> withTexts, Func<string> word)
    {
        for (var i = 0; i < 24; i++)
        {
            var text = ControlText(random);
            yield return make.Case("control-only", $"text {Str(text)}", withText(Str(text)), Bad);
        }
        for (var i = 0; i < 6; i++)
        {
            var text = ControlText(random);
            yield return make.Case("control-only", $"second of texts {Str(text)}", withTexts([word(), text]), Bad);
        }
    }

    /// <summary>1 to 12 characters of Unicode category Cc (C0, DEL, C1), at least one of them not whitespace.</summary>
    private static string ControlText(Random random)
    {
        var chars = Enumerable.Range(0, random.Next(1, 13))
            .Select(_ => (char)(random.Next(2) == 0 ? random.Next(0x00, 0x20) : random.Next(0x7F, 0xA0))).ToList();
        chars.Add((char)random.Pick(new[] { 0x00, 0x01, 0x07, 0x1B, 0x7F, 0x80, 0x9F }));
        return new string(chars.ToArray());
    }

    private static IEnumerable<string> HostileInputBlobNames(Random random)
    {
        string[] names =
        [
            "../models/marian-tiny-en-zh/config.json", "../../models/marian-tiny-en-zh/config.json",
            "inputs/../../models/marian-tiny-en-zh/config.json", "inputs/../x.jsonl", "/inputs/x.jsonl", "//models/x",
            "inputs\\x.jsonl", "inputs/%2e%2e/%2e%2e/models/marian-tiny-en-zh/config.json", "inputs/%2E%2E/x", "inputs/..%2fx",
            "inputs/x%00.jsonl", "inputs/x\u0000.jsonl", "inputs/x.jsonl\n", "inputs/x.jsonl\r", "inputs/ x.jsonl",
            "inputs/x .jsonl", "inputs/x?comp=list", "inputs/x#frag", "inputs/x;y", "inputs/\u2024\u2024/x",
            "inputs/．．/x", "inputs/x/..", "inputs/x/.", "inputs/.hidden", "inputs/-x", "inputs/_x", "inputs//x", "inputs/",
            "inputs", "INPUTS/x.jsonl", "Inputs/x.jsonl", " inputs/x.jsonl", "x.jsonl", "", "jobs/inputs/x",
            "models/marian-tiny-en-zh/config.json", "http://127.0.0.1:10000/devstoreaccount1/models/x",
            "inputs/" + new string('a', 250), "inputs/é.jsonl", "inputs/файл.jsonl", "inputs/\ud800.jsonl", "inputs/🙂.jsonl",
            "inputs/x\t.jsonl", "inputs/a/../b", "inputs/~/x", "inputs/$root/x", "inputs/*", "inputs/x|y", "C:\\x",
            "inputs/\\..\\x", "inputs/..\\..\\models", "inputs/x.jsonl/", "inputs/fuzz/good.jsonl/..", "inputs/fuzz/good.jsonl\u0000",
            "inputs/ｆuzz/good.jsonl", "inputs/fuzz/good.jsonl%20",
        ];
        foreach (var name in names)
        {
            yield return name;
        }

        yield return JobIdShape(random) + "/status.json";
        yield return JobIdShape(random) + "/input/0.jsonl";
        for (var i = 0; i < 6; i++)
        {
            // Junk path segments built from characters the rule forbids.
            const string forbidden = "\\%?#: *\"<>|'&=+,;@$!~^`{}[]()\u00e9\u4e2d";
            var segment = new string(Enumerable.Range(0, random.Next(1, 8))
                .Select(_ => forbidden[random.Next(forbidden.Length)]).ToArray());
            yield return $"inputs/{RandomName(random)}/{segment}";
        }
    }

    private static IEnumerable<(string Description, string Id)> HostileJobIds(Random random)
    {
        var id = JobIdShape(random);
        (string, string)[] fixedIds =
        [
            ("traversal to the model", "../models/marian-tiny-en-zh"), ("encoded traversal", "..%2Fmodels%2Fmarian-tiny-en-zh"),
            ("encoded dots", "%2e%2e"), ("dot dot", ".."), ("dot", "."), ("slash", "/"), ("empty", ""), ("space", " "),
            ("job id with a status path", id + "/status.json"), ("job id then traversal", id + "/../../models/marian-tiny-en-zh"),
            ("trailing newline", id + "\n"), ("trailing space", id + " "), ("leading space", " " + id), ("braces", "{" + id + "}"),
            ("GUID with dashes", new Guid(Convert.FromHexString(JobIdShape(random))).ToString("D")),
            ("trailing NUL", id + "\u0000"), ("encoded NUL", id + "%00"),
            ("container name", "models"), ("model name", RepoPaths.ShippedModelName), ("star", "*"), ("query", "?comp=list"),
            ("10,000 hex digits", string.Concat(Enumerable.Repeat(id, 313))[..10_000]), ("0x prefix", "0x" + id[..30]),
            ("upper case", id.ToUpperInvariant()), ("one upper-case digit", id[..31] + char.ToUpperInvariant('a')),
            ("fullwidth digits", new string('３', 32)), ("Arabic-Indic digits", new string('٣', 32)),
            ("backslash traversal", "..\\..\\models"), ("lone surrogate", id[..31] + "\ud800"), ("emoji", id[..30] + "😀"),
            ("URL", "http://127.0.0.1/devstoreaccount1/models"),
        ];
        foreach (var entry in fixedIds)
        {
            yield return entry;
        }

        foreach (var length in Enumerable.Range(0, 12).Select(_ => random.Next(1, 65)).Where(l => l != 32).Distinct())
        {
            yield return ($"{length} hex digits", string.Concat(Enumerable.Repeat(JobIdShape(random), 3))[..length]);
        }

        string[] substitutes = ["g", "G", "-", ".", "/", "\\", " ", "\u0000", "\n", "%", "é", "٣", "３", "_", "+"];
        foreach (var substitute in substitutes)
        {
            var chars = JobIdShape(random);
            var at = random.Next(32);
            yield return ($"{Str(substitute)} at {at}", chars[..at] + substitute + chars[(at + 1)..]);
        }
    }

    /// <summary>The object with whitespace inserted before its closing brace, up to the given total size.</summary>
    private static byte[] Padded(string json, int totalBytes)
    {
        var head = Utf8(json[..^1]);
        var body = new byte[totalBytes];
        head.CopyTo(body, 0);
        ReadOnlySpan<byte> whitespace = " \t\n\r"u8;
        for (var i = head.Length; i < totalBytes - 1; i++)
        {
            body[i] = whitespace[i % 4];
        }

        body[^1] = (byte)'}';
        return body;
    }

    private static string RandomName(Random random)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
        return "z" + new string(Enumerable.Range(0, random.Next(1, 24)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
