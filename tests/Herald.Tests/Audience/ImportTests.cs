using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Auth;
using Herald.Contacts;
using Herald.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Audience;

/// <summary>Records created contact ids, as journeys would see them.</summary>
public sealed class CreatedRecorder : IContactObserver
{
    public ConcurrentBag<long> Created { get; } = [];
    public Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct)
    {
        foreach (var id in contactIds) Created.Add(id);
        return Task.CompletedTask;
    }
    public Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct) => Task.CompletedTask;
    public Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct) => Task.CompletedTask;
}

public sealed class ImportApp : HeraldApp
{
    public static readonly CreatedRecorder Recorder = new();
    public const int MaxBytes = 300_000;

    public ImportApp()
    {
        Settings["Herald:Imports:MaxFileBytes"] = MaxBytes.ToString();
        // Small chunks: the 400-row import spans four, so rows are read ahead while earlier chunks are applied,
        // and in-file duplicates, errors and updates cross chunk boundaries.
        Settings["Herald:Imports:PostgresChunkRows"] = "128";
        Settings["Herald:Imports:SqliteChunkRows"] = "128";
        ConfigureTestServices = s => s.AddSingleton<IContactObserver>(Recorder);
    }
}

public sealed class ImportTests(ImportApp app) : IClassFixture<ImportApp>
{
    private static async Task<string> UploadAsync(TestWorkspace ws, byte[] file, string name, Dictionary<string, string>? fields = null, HttpStatusCode expect = HttpStatusCode.Accepted)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(file), "file", name);
        foreach (var (k, v) in fields ?? []) form.Add(new StringContent(v), k);
        var r = await ws.Client(Role.Editor).PostAsync("/api/v1/imports", form);
        var body = await r.ExpectAsync(expect);
        return expect == HttpStatusCode.Accepted ? body.GetProperty("id").GetString()! : body.ToString();
    }

    private static async Task<JsonElement> WaitAsync(TestWorkspace ws, string id)
    {
        // Polls a background job's status (not time logic): at most ~60 s.
        for (var i = 0; i < 600; i++)
        {
            var s = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/imports/{id}")).ExpectAsync(HttpStatusCode.OK);
            if (s.GetProperty("status").GetString() is "completed" or "failed") return s;
            await Task.Delay(100);
        }
        throw new TimeoutException("The import did not finish.");
    }

    [Fact]
    public async Task Csv_WithOnePercentMalformedRows_ImportsTheGoodRows_AndErrorsCsvListsEachBadLine()
    {
        var ws = await app.CreateWorkspaceAsync("csv", s => s.DefaultPhoneRegion = "IN");
        var existing = await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { email = "row7@example.com", city = "Old", tags = new[] { "keep" } })).ExpectAsync(HttpStatusCode.Created);
        var list = (await (await ws.Client().PostJsonAsync("/api/v1/lists", new { name = "imported" })).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;

        // Semicolon-delimited, UTF-8 with BOM, a quoted field holding the delimiter, 400 data rows.
        var sb = new StringBuilder("Email;Phone;Full Name;City;Tags;Plan;Score\n");
        var bad = new Dictionary<int, string>(); // line -> expected reason start
        for (var i = 1; i <= 400; i++)
        {
            var line = i + 1;
            var email = $"row{i}@example.com";
            var phone = $"98{i:D8}";
            if (i == 50) { email = "=HYPERLINK(\"http://evil\")"; bad[line] = "Bad email"; }
            if (i == 150) { phone = "12"; email = ""; bad[line] = "Bad phone"; }
            if (i == 250) { email = "row10@example.com"; phone = ""; bad[line] = "Duplicate in file"; }
            if (i == 350) { email = ""; phone = ""; bad[line] = "Missing address"; }
            sb.Append($"{email};{phone};\"Rao; Asha {i}\";Pune;vip,import;gold;{i}\n");
        }
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(sb.ToString())).ToArray();
        var id = await UploadAsync(ws, bytes, "contacts.csv", new() { ["listId"] = list, ["tags"] = "spring" });
        var s = await WaitAsync(ws, id);

        Assert.Equal("completed", s.GetProperty("status").GetString());
        Assert.Equal(400, s.GetProperty("rowsRead").GetInt32());
        Assert.Equal(4, s.GetProperty("failed").GetInt32());
        Assert.Equal(395, s.GetProperty("created").GetInt32());
        Assert.Equal(1, s.GetProperty("updated").GetInt32());
        Assert.Equal(bad.Keys.Order(), s.GetProperty("firstErrors").EnumerateArray().Select(e => e.GetProperty("line").GetInt32()).Order());

        var csv = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/imports/{id}/errors.csv")).Content.ReadAsStringAsync();
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("line,reason,cells", lines[0]);
        Assert.Equal(bad.Count, lines.Length - 1);
        foreach (var (line, reason) in bad)
            Assert.Contains(lines, l => l.StartsWith($"{line},{reason}") || l.StartsWith($"{line},\"{reason}"));
        Assert.Contains("'=HYPERLINK", csv); // formula injection defused
        Assert.DoesNotContain(",=HYPERLINK", csv);

        await app.WithDbAsync(async db =>
        {
            var updated = await db.Contacts.AsNoTracking().FirstAsync(c => c.Id == long.Parse(existing.GetProperty("id").GetString()!));
            Assert.Equal("Pune", updated.City);
            Assert.Equal(["import", "keep", "spring", "vip"], updated.Tags.Order().ToArray());
            Assert.Equal("Rao;", updated.FirstName);
            var row3 = await db.Contacts.AsNoTracking().FirstAsync(c => c.WorkspaceId == ws.Id && c.Email == "row3@example.com");
            Assert.Equal("+919800000003", row3.Phone);
            using var attrs = JsonDocument.Parse(row3.Attributes);
            Assert.Equal("gold", attrs.RootElement.GetProperty("Plan").GetString());
            Assert.Equal(3, attrs.RootElement.GetProperty("Score").GetInt32());
            Assert.Equal(396, await db.Set<Herald.Audience.ContactListMember>().CountAsync(m => m.ListId == long.Parse(list)));
            var createdIds = await db.Contacts.Where(c => c.WorkspaceId == ws.Id && c.Id != updated.Id).Select(c => c.Id).ToListAsync();
            Assert.All(createdIds, cid => Assert.Contains(cid, ImportApp.Recorder.Created));
        });
        // Imported attributes are filterable with their types.
        var preview = await (await ws.Client().PostJsonAsync("/api/v1/audience/preview", new { audience = new { filter = new Dictionary<string, object> { ["Score"] = new { gt = 390 } } } })).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(10, preview.GetProperty("count").GetInt32());
    }

    [PostgresFact]
    public async Task Csv_AddressInsertedByAnotherWriterDuringTheImport_IsReportedOnce_AndTheOtherRowsAreImported()
    {
        var ws = await app.CreateWorkspaceAsync("race", s => s.DefaultPhoneRegion = "IN");
        // Another writer has inserted race2@example.com and not committed yet: the import's matching does not see it.
        await using var scope = app.Services.CreateAsyncScope();
        var other = scope.ServiceProvider.GetRequiredService<Herald.Storage.HeraldDb>();
        await using var tx = await other.Database.BeginTransactionAsync();
        other.Contacts.Add(new Contact { WorkspaceId = ws.Id, Email = "race2@example.com", City = "Other", CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow });
        await other.SaveChangesAsync();

        var id = await UploadAsync(ws, Encoding.UTF8.GetBytes("email,city\nrace1@example.com,Pune\nrace2@example.com,Pune\nrace3@example.com,Pune\n"), "race.csv");
        // Polls (not time logic) until the import's INSERT waits on the other writer's row, at most ~60 s.
        for (var i = 0; i < 600; i++)
        {
            var waiting = await app.WithDbAsync(db => db.Database.SqlQueryRaw<int>(
                "SELECT count(*)::int AS \"Value\" FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO contact %'").SingleAsync());
            if (waiting > 0) break;
            await Task.Delay(100);
        }
        await tx.CommitAsync();
        var s = await WaitAsync(ws, id);

        Assert.Equal("completed", s.GetProperty("status").GetString());
        Assert.Equal(3, s.GetProperty("rowsRead").GetInt32());
        Assert.Equal(2, s.GetProperty("created").GetInt32());
        Assert.Equal(1, s.GetProperty("failed").GetInt32());
        var error = Assert.Single(s.GetProperty("firstErrors").EnumerateArray());
        Assert.Equal(3, error.GetProperty("line").GetInt32());
        Assert.Contains("created meanwhile", error.GetProperty("reason").GetString());
        await app.WithDbAsync(async db =>
        {
            var contacts = await db.Contacts.AsNoTracking().Where(c => c.WorkspaceId == ws.Id).OrderBy(c => c.Email).ToListAsync();
            Assert.Equal(["race1@example.com", "race2@example.com", "race3@example.com"], contacts.Select(c => c.Email));
            Assert.Equal(["Pune", "Other", "Pune"], contacts.Select(c => c.City));
        });
    }

    [Fact]
    public async Task Csv_CreateMode_SkipsExisting_MappingRoutesColumns()
    {
        var ws = await app.CreateWorkspaceAsync("create");
        await (await ws.Client().PostJsonAsync("/api/v1/contacts", new { externalId = "C1", city = "Kept" })).ExpectAsync(HttpStatusCode.Created);
        var csv = "cust,mail,where,ignored\nC1,c1@example.com,Changed,x\nC2,c2@example.com,Delhi,y\n";
        var id = await UploadAsync(ws, Encoding.UTF8.GetBytes(csv), "c.csv", new()
        {
            ["mode"] = "create",
            ["mapping"] = """{"cust":"externalId","mail":"email","where":"attributes.location","ignored":null}""",
        });
        var s = await WaitAsync(ws, id);
        Assert.Equal(1, s.GetProperty("created").GetInt32());
        Assert.Equal(1, s.GetProperty("skipped").GetInt32());
        await app.WithDbAsync(async db =>
        {
            Assert.Equal("Kept", (await db.Contacts.FirstAsync(c => c.WorkspaceId == ws.Id && c.ExternalId == "C1")).City);
            var c2 = await db.Contacts.FirstAsync(c => c.WorkspaceId == ws.Id && c.ExternalId == "C2");
            Assert.Equal("""{"location":"Delhi"}""", c2.Attributes.Replace(" ", ""));
        });
    }

    [Fact]
    public async Task Xlsx_ImportsRowsByHeaderName()
    {
        var ws = await app.CreateWorkspaceAsync("xlsx", s => s.DefaultPhoneRegion = "IN");
        var rows = new List<Dictionary<string, object?>>
        {
            new() { ["First Name"] = "Asha", ["Last Name"] = "Rao", ["Mobile"] = "9876543210", ["Country"] = "IN", ["Tier"] = "gold" },
            new() { ["First Name"] = "Ben", ["Last Name"] = "Ng", ["Mobile"] = "not a phone", ["Country"] = "IN", ["Tier"] = "silver" },
            new() { ["First Name"] = "Cara", ["Last Name"] = null, ["Mobile"] = "9812345678", ["Country"] = "IN", ["Tier"] = null },
        };
        using var ms = new MemoryStream();
        MiniExcelLibs.MiniExcel.SaveAs(ms, rows);
        var id = await UploadAsync(ws, ms.ToArray(), "people.xlsx");
        var s = await WaitAsync(ws, id);
        Assert.Equal("completed", s.GetProperty("status").GetString());
        Assert.Equal(2, s.GetProperty("created").GetInt32());
        Assert.Equal(1, s.GetProperty("failed").GetInt32());
        Assert.Equal(3, s.GetProperty("firstErrors")[0].GetProperty("line").GetInt32());
        await app.WithDbAsync(async db =>
        {
            var asha = await db.Contacts.FirstAsync(c => c.WorkspaceId == ws.Id && c.Phone == "+919876543210");
            Assert.Equal("Asha", asha.FirstName);
            Assert.Equal("Rao", asha.LastName);
            Assert.Contains("gold", asha.Attributes);
        });
    }

    [Fact]
    public async Task Upload_NotCsvOrXlsx_Empty_OrTooLarge_IsRejectedAtOnce()
    {
        var ws = await app.CreateWorkspaceAsync("reject");
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D };
        Assert.Contains("file", await UploadAsync(ws, png, "photo.png", expect: HttpStatusCode.BadRequest));
        Assert.Contains("file", await UploadAsync(ws, png, "photo.csv", expect: HttpStatusCode.BadRequest));
        Assert.Contains("file", await UploadAsync(ws, [], "empty.csv", expect: HttpStatusCode.BadRequest));
        var big = Encoding.UTF8.GetBytes("email\n" + string.Concat(Enumerable.Repeat("someone@example.com\n", ImportApp.MaxBytes / 20 + 10)));
        await UploadAsync(ws, big, "big.csv", expect: HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("mapping.a", await UploadAsync(ws, Encoding.UTF8.GetBytes("a\nx@example.com\n"), "m.csv", new() { ["mapping"] = """{"a":"shoeSize"}""" }, HttpStatusCode.BadRequest));
        Assert.Equal(0, await app.WithDbAsync(db => db.Set<Herald.Audience.ImportJob>().CountAsync(j => j.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Csv_Latin1WithoutBom_IsDecoded()
    {
        var ws = await app.CreateWorkspaceAsync("latin1");
        var bytes = Encoding.Latin1.GetBytes("email,firstName,city\nzoe@example.com,Zoë,Málaga\n");
        var s = await WaitAsync(ws, await UploadAsync(ws, bytes, "l.csv"));
        Assert.Equal(1, s.GetProperty("created").GetInt32());
        Assert.Equal("Málaga", await app.WithDbAsync(db => db.Contacts.Where(c => c.WorkspaceId == ws.Id).Select(c => c.City).FirstAsync()));
    }
}
