using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Herald.Auth;
using Herald.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Herald.Tests.Hostile;

/// <summary>
/// Generated hostile input (FsCheck generators, sampled into corpora) against the real API: whatever arrives, the
/// answer is never a 5xx, and every rejection is RFC 7807 problem+json. Seeds are fixed so a failure reproduces;
/// the failing input is printed.
/// </summary>
public sealed class HostileInputTests(HeraldApp app, ITestOutputHelper output) : IClassFixture<HeraldApp>
{
    private const int Seed = 20261202;

    private static readonly string[] Words =
    [
        "all", "any", "not", "field", "op", "value", "totalSpent", "city", "tags", "email", "lastOrderAt", "attributes.plan",
        "attributes.", "rfm.segment", "consent.email", "eq", "neq", "in", "nin", "gt", "between", "contains", "startsWith", "exists",
        "withinLastDays", "olderThanDays", "", " ", "💥", "' OR 1=1 --", "\"; DROP TABLE contact; --", "\0", "%", "_", "\\",
        "1e309", "-0", "2026-13-45", "NaN", "Infinity", "9999999999999999999999", "{{ x }}", "=cmd|' /C calc'!A0", new string('a', 5000),
    ];

    private static Gen<JsonNode?> Leaf() => Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Choose(-1000, 1000).Select(i => (JsonNode?)JsonValue.Create(i)),
        Gen.Elements(double.MaxValue, double.MinValue, 0.5, -1e-300, 1e20).Select(d => (JsonNode?)JsonValue.Create(d)),
        Gen.Elements(long.MaxValue, long.MinValue).Select(l => (JsonNode?)JsonValue.Create(l)),
        Gen.Elements(Words).Select(s => (JsonNode?)JsonValue.Create(s)));

    /// <summary>Random JSON trees whose keys and strings are mostly the filter's own vocabulary (so they get past the first check).</summary>
    public static Gen<JsonNode?> Tree(int depth) => depth == 0 ? Leaf() : Gen.Frequency(
        (2, Leaf()),
        (1, Gen.Choose(0, 3).SelectMany(n => Gen.ListOf(Tree(depth - 1), n)).Select(items => (JsonNode?)new JsonArray(items.ToArray()))),
        (4, Gen.Choose(0, 3).SelectMany(n => Gen.ListOf(Gen.Zip(Gen.Elements(Words), Tree(depth - 1)), n)).Select(pairs =>
        {
            var o = new JsonObject();
            foreach (var (k, v) in pairs) o[k] = v;
            return (JsonNode?)o;
        })));

    private static T[] Corpus<T>(Gen<T> gen, int count) => gen.Sample(10, new Rnd((ulong)Seed, 1UL), count);

    private async Task ExpectHandledAsync(HttpResponseMessage r, string what)
    {
        var status = (int)r.StatusCode;
        var body = await r.Content.ReadAsStringAsync();
        if (status >= 500) output.WriteLine($"{status} for {what}: {body}");
        Assert.True(status < 500, $"{status} for {what}: {(body.Length > 500 ? body[..500] : body)}");
        if (status >= 400)
            Assert.True(r.Content.Headers.ContentType?.MediaType == "application/problem+json",
                $"{status} without problem+json ({r.Content.Headers.ContentType}) for {what}");
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    [Fact]
    public async Task FilterParser_RandomJsonTrees_NeverServerErrorAndRejectionsAreProblemJson()
    {
        var ws = await app.CreateWorkspaceAsync("filters");
        var client = ws.Client(Role.Editor);
        await client.PostJsonAsync("/api/v1/contacts", new { email = "a@example.com", city = "Pune", tags = new[] { "vip" } });
        var accepted = 0;
        foreach (var tree in Corpus(Tree(4), 250))
        {
            var text = tree?.ToJsonString() ?? "null";
            var r = await client.PostAsync("/api/v1/audience/preview", Json("{\"audience\":{\"filter\":" + text + "}}"));
            await ExpectHandledAsync(r, "filter " + text);
            if (r.IsSuccessStatusCode) accepted++;
            await ExpectHandledAsync(await client.PostAsync("/api/v1/segments", Json("{\"name\":\"fuzz\",\"filter\":" + text + "}")), "segment " + text);
        }
        output.WriteLine($"{accepted} of 250 random filters were valid");
    }

    private static readonly string[] LiquidBits =
    [
        "{{", "}}", "{%", "%}", " if ", " endif ", " for x in contact.tags ", " endfor ", " contact.firstName ", " | ", "default:", "\"",
        "'", " raw ", " endraw ", " comment ", " endcomment ", "unsubscribeUrl", " | upcase", " | split: ',' ", " | date: '%Y' ", "(1..5)",
        "contact.attributes.plan", "{{{", "}}}", "\n", "é", "💥", " assign a = ", " capture c ", " endcapture ", " else ", " elsif ",
        " | truncate: -1", " | divided_by: 0", " | modulo: 0", " | times: 1e308", " cycle ", " include 'x' ", " render 'y' ",
    ];

    [Fact]
    public async Task LiquidTemplates_RandomFragments_SaveOrRejectWithLineAndRenderWithoutServerError()
    {
        var ws = await app.CreateWorkspaceAsync("liquid");
        var client = ws.Client(Role.Editor);
        var bodies = Corpus(Gen.Choose(1, 12).SelectMany(n => Gen.ListOf(Gen.Elements(LiquidBits), n)).Select(parts => string.Concat(parts)), 200);
        var saved = 0;
        foreach (var body in bodies)
        {
            var r = await client.PostJsonAsync("/api/v1/templates", new { name = "fuzz", channel = "sms", sms = new { body } });
            await ExpectHandledAsync(r, "template " + body);
            if (r.StatusCode != HttpStatusCode.Created) continue;
            saved++;
            var id = (await r.JsonAsync()).GetProperty("id").GetString();
            await ExpectHandledAsync(await client.PostJsonAsync($"/api/v1/templates/{id}/render", new { data = new { firstName = "Asha", tags = new[] { "a", "b" } } }), "render " + body);
        }
        output.WriteLine($"{saved} of {bodies.Length} random templates saved");
    }

    [Fact]
    public async Task Schedules_RandomTimezonesAndCronStrings_NeverServerError()
    {
        var ws = await app.CreateWorkspaceAsync("schedules");
        var client = ws.Client(Role.Editor);
        var zones = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Take(400)
            .Concat(["", "UTC+5", "Mars/Olympus", "../../etc/passwd", "Asia/Kolkata\0", new string('Z', 3000), "Etc/GMT+14", "EST5EDT"]).ToArray();
        var cronField = Gen.Elements("*", "*/0", "*/5", "0", "59", "60", "-1", "1-5", "5-1", "MON-FRI", "L", "W", "#", "?", "1,2,3", "99999999999", "JAN", "");
        var crons = Gen.Choose(1, 7).SelectMany(n => Gen.ListOf(cronField, n)).Select(f => string.Join(' ', f));
        var at = Gen.Elements("2026-12-01T09:00:00", "2026-03-29T02:30:00", "2026-02-30T10:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "yesterday", "");
        var schedules = Gen.OneOf(
            Gen.Zip(Gen.Elements(zones), crons).Select(p => (object)new { type = "cron", expression = p.Item2, timezone = p.Item1 }),
            Gen.Zip(Gen.Elements(zones), at).Select(p => (object)new { type = "once", at = p.Item2, timezone = p.Item1 }),
            Gen.Zip(Gen.Elements("secondly", "minutely", "daily", "monthly", "fortnightly", ""), Gen.Choose(-2, 1000)).SelectMany(p =>
                Gen.Zip(Gen.Elements(zones), at).Select(z => (object)new { type = "recurring", frequency = p.Item1, interval = p.Item2, startAt = z.Item2, timezone = z.Item1 })));
        foreach (var schedule in Corpus(schedules, 200))
        {
            var r = await client.PostJsonAsync("/api/v1/campaigns", new { name = "fuzz", channel = "sms", content = new { sms = new { body = "Hi" } }, audience = new { all = true }, schedule });
            await ExpectHandledAsync(r, "schedule " + System.Text.Json.JsonSerializer.Serialize(schedule));
        }
    }

    /// <summary>Every endpoint with a body gets each property swapped for each JSON type, and random trees as the whole body.</summary>
    [Fact]
    public async Task JsonBodies_WrongTypesOnEveryEndpoint_NeverServerErrorAndRejectionsAreProblemJson()
    {
        JsonNode?[] wrong() => [null, 1, -1.5, "x", true, new JsonArray(), new JsonObject(), new JsonArray(1, "a"), long.MaxValue];
        var trees = Corpus(Tree(3), 12);
        // One workspace per resource kind: Seeds makes one resource of a kind per workspace.
        var seeded = new Dictionary<string, (HttpClient Client, string Id)>();
        foreach (var e in EndpointCatalog.All.Where(e => e.Body is not null && !e.Multipart))
        {
            var resource = EndpointCatalog.ResourceOf(e.Route);
            if (!seeded.TryGetValue(resource, out var target))
            {
                var ws = await app.CreateWorkspaceAsync("types");
                seeded[resource] = target = (ws.Client(Role.Admin), resource.Length > 0 ? await Seeds.CreateAsync(ws, resource) : "");
            }
            var (client, id) = target;
            var url = e.Route.Replace("{id}", id);
            var sample = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(e.Body, HttpExtensions.Json))!.AsObject();
            var bodies = new List<string>();
            foreach (var key in sample.Select(p => p.Key).ToList())
                foreach (var w in wrong())
                {
                    var copy = sample.DeepClone().AsObject();
                    copy[key] = w;
                    bodies.Add(copy.ToJsonString());
                }
            bodies.AddRange(trees.Select(t => t?.ToJsonString() ?? "null"));
            bodies.AddRange(["", "{", "[]", "\"text\"", "{\"a\":1}{", "{\"x\":" + new string('[', 2000) + new string(']', 2000) + "}"]);
            foreach (var body in bodies)
                await ExpectHandledAsync(await client.SendAsync(new HttpRequestMessage(new HttpMethod(e.Method), url) { Content = Json(body) }), $"{e.Method} {e.Route} {(body.Length > 300 ? body[..300] : body)}");
        }
    }

    [Fact]
    public async Task CsvImport_BrokenFiles_FinishWithoutServerErrorAndErrorsCsvNeutralizesFormulas()
    {
        var ws = await app.CreateWorkspaceAsync("csv");
        var client = ws.Client(Role.Editor);
        var formula = "=cmd|' /C calc'!A0";
        var files = new Dictionary<string, byte[]>
        {
            ["unbalanced quotes"] = Encoding.UTF8.GetBytes("email,firstName\n\"a@example.com,Asha\nb@example.com,\"Bo\"b\"\n\"\"\"\n"),
            ["huge field"] = Encoding.UTF8.GetBytes("email,firstName\nc@example.com," + new string('x', 1_000_000) + "\n"),
            ["latin-1"] = Encoding.Latin1.GetBytes("email,city\nd@example.com,Zürich\ne@example.com,São Paulo\n"),
            ["utf-16 with bom"] = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("email,city\nf@example.com,Pune\n")).ToArray(),
            ["nul bytes"] = Encoding.UTF8.GetBytes("email,city\ng@example.com,Pu\0ne\n\0\0\0\n"),
            ["formulas"] = Encoding.UTF8.GetBytes($"email,firstName\n{formula},x\n+1-2@example.com,@SUM(A1)\n-2+3,=1+1\nh@example.com,{formula}\n"),
            ["header only"] = Encoding.UTF8.GetBytes("email\n"),
            ["empty"] = [],
            ["binary"] = Enumerable.Range(0, 4096).Select(i => (byte)(i * 37 % 256)).ToArray(),
            ["ragged rows"] = Encoding.UTF8.GetBytes("email,city,tags\ni@example.com\nj@example.com,a,b,c,d,e\n,,,\n"),
            ["only newlines"] = Encoding.UTF8.GetBytes("\r\n\r\n\n\r"),
        };
        foreach (var (name, bytes) in files)
        {
            using var form = new MultipartFormDataContent();
            form.Add(new ByteArrayContent(bytes), "file", "hostile.csv");
            var r = await client.PostAsync("/api/v1/imports", form);
            await ExpectHandledAsync(r, "import " + name);
            if (r.StatusCode != HttpStatusCode.Accepted) continue;
            var id = (await r.JsonAsync()).GetProperty("id").GetString();
            var status = "";
            for (var i = 0; i < 300 && status is not ("completed" or "failed"); i++)
            {
                await Task.Delay(100);
                var s = await client.GetAsync($"/api/v1/imports/{id}");
                await ExpectHandledAsync(s, "import status " + name);
                status = (await s.JsonAsync()).GetProperty("status").GetString()!;
            }
            Assert.True(status is "completed" or "failed", $"import '{name}' still {status}");
            var errors = await client.GetAsync($"/api/v1/imports/{id}/errors.csv");
            await ExpectHandledAsync(errors, "errors.csv " + name);
            if (!errors.IsSuccessStatusCode) continue;
            var csv = await errors.Content.ReadAsStringAsync();
            foreach (var cell in CsvCells(csv))
                Assert.False(cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@', $"errors.csv of '{name}' has a live formula cell: {cell}");
        }
    }

    /// <summary>Cells of a CSV (RFC 4180 quoting) as a spreadsheet would read them.</summary>
    private static IEnumerable<string> CsvCells(string csv)
    {
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var ch = csv[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < csv.Length && csv[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch is ',' or '\n' or '\r')
            {
                yield return cell.ToString();
                cell.Clear();
            }
            else cell.Append(ch);
        }
        yield return cell.ToString();
    }
}
