using System.Text;
using static ServerlessInference.Tests.Fuzz.FuzzJson;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>How a message sits in the queue: as it was written, or base64 of that (the Functions convention).
/// With <c>messageEncoding: none</c> the function gets either form as it is and must decode it itself.</summary>
internal enum MessageForm { Raw, Base64 }

/// <summary>One hostile message. When <see cref="HasJobId"/> is set, the message carries a well-formed job id in its
/// <c>jobId</c> field, and that job must end up failed with a reason; <see cref="JobExists"/> says whether the
/// test submits the job first or names one nobody created.</summary>
internal sealed record QueueCase(string Class, string Description, MessageForm Form, Func<string, byte[]> Content, bool HasJobId)
{
    public bool JobExists { get; init; }

    public byte[] Body(string jobId)
    {
        var content = Content(jobId);
        return Form == MessageForm.Raw ? content : Encoding.ASCII.GetBytes(Convert.ToBase64String(content));
    }

    public override string ToString() =>
        $"[{Class}] {Description} ({Form}{(HasJobId ? JobExists ? ", existing job" : ", job never created" : "")})";
}

/// <summary>Seeded generator of hostile messages for the job queue and its poison queue.</summary>
internal static class QueueCases
{
    private const string Model = RepoPaths.ShippedModelName;

    public static IEnumerable<QueueCase> Messages(int seed)
    {
        var random = new Random(seed);
        MessageForm AnyForm() => random.Next(2) == 0 ? MessageForm.Raw : MessageForm.Base64;
        QueueCase Bytes(string cls, string description, byte[] body, MessageForm form = MessageForm.Raw) =>
            new(cls, description, form, _ => body, HasJobId: false);
        QueueCase Text(string cls, string description, string text, MessageForm form = MessageForm.Raw) =>
            Bytes(cls, description, Encoding.UTF8.GetBytes(text), form);
        QueueCase Job(string cls, string description, Func<string, string> json, MessageForm form, bool? exists = null) =>
            new(cls, description, form, id => Utf8(json(id)), HasJobId: true) { JobExists = exists ?? random.Next(2) == 0 };
        string Message(string id, params (string Name, string Value)[] fields) =>
            Obj(new[] { ("jobId", Str(id)) }.Concat(fields).ToArray());

        // Not JSON at all.
        string[] notJson =
        [
            "this is not JSON", "", " ", "hello", "<QueueMessage><MessageText>x</MessageText></QueueMessage>", "{", "}", "[",
            "{\"jobId\":", "jobId=0&chunk=0", "null x", "'single'", "{jobId: 1}", "\t\r\n", "{\"jobId\":\"x\",}",
        ];
        foreach (var text in notJson)
        {
            yield return Text("not-json", Preview(text), text);
        }

        for (var i = 0; i < 8; i++)
        {
            var text = new string(Enumerable.Range(0, random.Next(1, 80)).Select(_ => (char)random.Next(0x20, 0x7F)).ToArray());
            yield return Text("not-json", "printable junk " + Preview(text, 40), text);
        }

        // Looks like base64, is not.
        // A queue holds XML text, so no message carries characters XML 1.0 forbids (NUL and most C0 controls).
        string[] notBase64 =
            ["YWJj*", "====", "a", "ab=c", "%%%%", "SGVsbG8gd29ybGQ", "eyJqb2JJZCI6", "eyJ!!", "Zm9v\t", "@@@@", "eyJqb2JJZCI6ICIxIn0=x"];
        foreach (var text in notBase64)
        {
            yield return Text("not-base64", Preview(text), text);
        }

        // Base64 of something that is not a message.
        for (var i = 0; i < 6; i++)
        {
            var bytes = new byte[random.Next(1, 200)];
            random.NextBytes(bytes);
            yield return Bytes("base64-junk", $"{bytes.Length} random bytes", bytes, MessageForm.Base64);
        }
        foreach (var text in new[] { "not json", "null", "[]", "\"x\"", "42", "{}" })
        {
            yield return Text("base64-junk", Preview(text), text, MessageForm.Base64);
        }

        yield return Bytes("base64-junk", "invalid UTF-8", [0x7B, 0xFF, 0xC0, 0x80, 0x7D], MessageForm.Base64);
        var utf16 = Encoding.Unicode.GetBytes(Message(JobIdShape(random), ("chunk", "0"), ("chunkCount", "1")));
        yield return Bytes("base64-junk", "UTF-16 JSON", utf16, MessageForm.Base64);
        yield return Text("base64-junk", "base64 of base64 of a message",
            Convert.ToBase64String(Utf8(Message(JobIdShape(random), ("chunk", "0"), ("chunkCount", "1")))), MessageForm.Base64);

        // Wrong types beside a good job id, in both forms.
        (string Name, (string, string)[] Fields)[] wrongTypes =
        [
            ("chunk \"0\"", [("chunk", "\"0\""), ("chunkCount", "1")]),
            ("chunkCount \"1\"", [("chunk", "0"), ("chunkCount", "\"1\"")]),
            ("chunk 0.5", [("chunk", "0.5"), ("chunkCount", "1")]),
            ("chunk true", [("chunk", "true"), ("chunkCount", "1")]),
            ("chunk null", [("chunk", "null"), ("chunkCount", "1")]),
            ("chunk [0]", [("chunk", "[0]"), ("chunkCount", "1")]),
            ("chunk {}", [("chunk", "{}"), ("chunkCount", "1")]),
            ("chunkCount null", [("chunk", "0"), ("chunkCount", "null")]),
            ("version \"1\"", [("chunk", "0"), ("chunkCount", "1"), ("version", "\"1\"")]),
            ("version 2", [("chunk", "0"), ("chunkCount", "1"), ("version", "2")]),
            ("version 0", [("chunk", "0"), ("chunkCount", "1"), ("version", "0")]),
            ("version null", [("chunk", "0"), ("chunkCount", "1"), ("version", "null")]),
            ("model 5", [("chunk", "0"), ("chunkCount", "1"), ("model", "5")]),
            ("model [\"x\"]", [("chunk", "0"), ("chunkCount", "1"), ("model", "[\"x\"]")]),
            ("beams \"2\"", [("chunk", "0"), ("chunkCount", "1"), ("beams", "\"2\"")]),
            ("maxNewTokens {}", [("chunk", "0"), ("chunkCount", "1"), ("maxNewTokens", "{}")]),
            ("maxNewTokens 1.5", [("chunk", "0"), ("chunkCount", "1"), ("maxNewTokens", "1.5")]),
        ];
        foreach (var (name, fields) in wrongTypes)
        {
            foreach (var form in new[] { MessageForm.Raw, MessageForm.Base64 })
            {
                yield return Job("wrong-type", name, id => Message(id, fields), form);
            }
        }

        // Job ids that name something else; no job to fail, nothing to touch.
        foreach (var (name, hostile) in HostileIds(random))
        {
            foreach (var form in new[] { MessageForm.Raw, MessageForm.Base64 })
            {
                var message = Obj(("jobId", hostile), ("chunk", "0"), ("chunkCount", "1"), ("model", Str(Model)));
                yield return Text("hostile-job-id", name, message, form);
            }
        }

        // Numbers out of range or beyond Int32.
        (string Name, (string, string)[] Fields)[] numbers =
        [
            ("chunk 1e30", [("chunk", "1e30"), ("chunkCount", "1")]),
            ("chunk 99999999999999999999", [("chunk", "99999999999999999999"), ("chunkCount", "1")]),
            ("chunk -1", [("chunk", "-1"), ("chunkCount", "1")]),
            ("chunk 2147483648", [("chunk", "2147483648"), ("chunkCount", "1")]),
            ("chunk -2147483649", [("chunk", "-2147483649"), ("chunkCount", "1")]),
            ("chunkCount 0", [("chunk", "0"), ("chunkCount", "0")]),
            ("chunkCount -1", [("chunk", "0"), ("chunkCount", "-1")]),
            ("chunkCount 1e400", [("chunk", "0"), ("chunkCount", "1e400")]),
            ("chunkCount 2147483648", [("chunk", "0"), ("chunkCount", "2147483648")]),
            ("chunk equal to chunkCount", [("chunk", "1"), ("chunkCount", "1")]),
            ("chunk past chunkCount", [("chunk", "5"), ("chunkCount", "2")]),
            ("beams 99999999999999999999", [("chunk", "0"), ("chunkCount", "1"), ("beams", "99999999999999999999")]),
        ];
        foreach (var (name, fields) in numbers)
        {
            yield return Job("huge-number", name, id => Message(id, fields), AnyForm());
        }

        // Well-formed, but the job cannot run as asked: it fails, with the reason on the job.
        (string Name, (string, string)[] Fields)[] badOptions =
        [
            ("model traversal", [("chunk", "0"), ("chunkCount", "1"), ("model", Str("../models/" + Model))]),
            ("unknown model", [("chunk", "0"), ("chunkCount", "1"), ("model", Str("fr-de"))]),
            ("lone surrogate model", [("chunk", "0"), ("chunkCount", "1"), ("model", "\"\\ud800\"")]),
            ("60,000-character model", [("chunk", "0"), ("chunkCount", "1"), ("model", Str(new string('m', 60_000)))]),
            ("beams 0", [("chunk", "0"), ("chunkCount", "1"), ("beams", "0")]),
            ("beams 9", [("chunk", "0"), ("chunkCount", "1"), ("beams", "9")]),
            ("beams 2147483647", [("chunk", "0"), ("chunkCount", "1"), ("beams", "2147483647")]),
            ("beams -5", [("chunk", "0"), ("chunkCount", "1"), ("beams", "-5")]),
            ("maxNewTokens 0", [("chunk", "0"), ("chunkCount", "1"), ("maxNewTokens", "0")]),
            ("maxNewTokens 128", [("chunk", "0"), ("chunkCount", "1"), ("maxNewTokens", "128")]),
            ("maxNewTokens 99999999", [("chunk", "0"), ("chunkCount", "1"), ("maxNewTokens", "99999999")]),
            ("chunk past the job's input", [("chunk", "3"), ("chunkCount", "4")]),
            ("chunk at Int32 limits", [("chunk", "2147483646"), ("chunkCount", "2147483647")]),
        ];
        foreach (var (name, fields) in badOptions)
        {
            yield return Job("bad-options", name, id => Message(id, fields), AnyForm());
        }

        yield return Job("bad-options", "chunkCount larger than the job's",
            id => Message(id, ("chunk", "0"), ("chunkCount", "5")), AnyForm(), exists: true);
        yield return Job("bad-options", "chunkCount larger than the job's, base64",
            id => Message(id, ("chunk", "0"), ("chunkCount", "3")), MessageForm.Base64, exists: true);

        // Missing fields and nulls.
        yield return Job("missing-field", "only jobId", id => Message(id), AnyForm());
        yield return Job("missing-field", "no chunkCount", id => Message(id, ("chunk", "0")), AnyForm());
        yield return Job("missing-field", "no chunk", id => Message(id, ("chunkCount", "1")), AnyForm());
        yield return Text("missing-field", "no jobId", Obj(("chunk", "0"), ("chunkCount", "1"), ("model", Str(Model))), AnyForm());
        yield return Text("missing-field", "empty object", "{}", AnyForm());
        yield return Text("missing-field", "empty array", "[]", AnyForm());
        yield return Text("null", "JSON null", "null", AnyForm());
        yield return Text("null", "jobId null", Obj(("jobId", "null"), ("chunk", "0"), ("chunkCount", "1")), AnyForm());
        var allNull = Obj(("jobId", "null"), ("chunk", "null"), ("chunkCount", "null"), ("version", "null"));
        yield return Text("null", "all null", allNull, AnyForm());

        // Deep nesting.
        yield return Text("deep", "array nested 10,000 deep", new string('[', 10_000) + new string(']', 10_000), AnyForm());
        var objects = string.Concat(Enumerable.Repeat("{\"jobId\":", 2_000)) + "1" + new string('}', 2_000);
        yield return Text("deep", "objects nested 2,000 deep", objects, AnyForm());
        var nestedId = Obj(("jobId", new string('[', 100) + Str(JobIdShape(random)) + new string(']', 100)),
            ("chunk", "0"), ("chunkCount", "1"));
        yield return Text("deep", "jobId nested 100 deep", nestedId, AnyForm());
        var nestedField = Obj(("jobId", Str("../x")), ("x", new string('[', 5_000) + new string(']', 5_000)));
        yield return Text("deep", "a field nested 5,000 deep", nestedField, AnyForm());

        // Raw bytes that are not UTF-8 (a queue holds text, but the function must not trust that).
        yield return Bytes("invalid-utf8", "0xFF bytes", [0xFF, 0xFF, 0xFE]);
        yield return Bytes("invalid-utf8", "in the jobId",
            Concat(Utf8("{\"jobId\":\""), [0xFF, 0xC0, 0x80], Utf8("\",\"chunk\":0,\"chunkCount\":1}")));
        yield return Bytes("invalid-utf8", "in the model, no jobId",
            Concat(Utf8("{\"chunk\":0,\"chunkCount\":1,\"model\":\""), [0xED, 0xA0, 0x80], Utf8("\"}")));
        yield return Bytes("invalid-utf8", "a UTF-8 BOM then junk", [0xEF, 0xBB, 0xBF, 0xFF, 0x7B]);

        // As large as a queue message gets (64 KiB).
        yield return Text("huge", "60,000 characters of text", new string('x', 60_000));
        var random45k = new byte[45_000];
        random.NextBytes(random45k);
        yield return Bytes("huge", "base64 of 45,000 random bytes", random45k, MessageForm.Base64);
        var longId = Obj(("jobId", Str("../" + new string('a', 60_000))), ("chunk", "0"), ("chunkCount", "1"));
        yield return Text("huge", "a 60,000-character traversal job id", longId);
    }

    /// <summary>Well-formed messages of real jobs whose retries ran out: the host hands them to the poison function.</summary>
    public static IEnumerable<QueueCase> Exhausted()
    {
        foreach (var form in new[] { MessageForm.Raw, MessageForm.Base64 })
        {
            yield return new QueueCase("retries-exhausted", "a well-formed message", form,
                id => Utf8(Obj(("version", "1"), ("jobId", Str(id)), ("chunk", "0"), ("chunkCount", "1"), ("model", Str(Model)))),
                HasJobId: true)
            { JobExists = true };
            yield return new QueueCase("retries-exhausted", "a minimal message", form,
                id => Utf8(Obj(("jobId", Str(id)), ("chunk", "0"), ("chunkCount", "1"))), HasJobId: true)
            { JobExists = true };
        }
    }

    private static IEnumerable<(string Name, string Json)> HostileIds(Random random)
    {
        var id = JobIdShape(random);
        (string, string)[] ids =
        [
            ("traversal to the model", Str("../models/" + Model)),
            ("traversal to a model file", Str("../../models/" + Model + "/config.json")),
            ("encoded traversal", Str("..%2fmodels%2f" + Model)), ("absolute path", Str("/models/" + Model)),
            ("container path", Str("models/" + Model)), ("job id then traversal", Str(id + "/../../models/" + Model)),
            ("job id then ..", Str(id + "/..")), ("job id then slash", Str(id + "/")), ("trailing newline", Str(id + "\n")),
            ("leading space", Str(" " + id)), ("upper case", Str(id.ToUpperInvariant())),
            ("GUID with dashes", Str(new Guid(Convert.FromHexString(id)).ToString("D"))), ("braces", Str("{" + id + "}")),
            ("33 digits", Str(id + "0")), ("31 digits", Str(id[..31])), ("empty", Str("")), ("NUL", Str("\u0000")),
            ("dot dot", Str("..")), ("dot", Str(".")), ("encoded NUL", Str(id + "%00")),
            ("backslash traversal", Str(id + "\\..\\..\\models")), ("fullwidth digits", Str(new string('３', 32))),
            ("Arabic-Indic digits", Str(new string('٣', 32))), ("query", Str(id + "?comp=list")), ("fragment", Str(id + "#x")),
            ("lone surrogate", "\"" + id[..31] + "\\ud800\""), ("number", "12345678901234567890123456789012"),
            ("array of the id", "[" + Str(id) + "]"),
        ];
        return ids;
    }
}
