using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;
using Herald.Audience;
using Herald.Audit;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Contacts;
using Herald.Hosting;
using Herald.Scheduling;
using Herald.Storage;
using Herald.Templates;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Herald.Assets;

/// <summary>What <see cref="DemoData.LoadAsync"/> did; <see cref="Loaded"/> is false when the workspace already had it.</summary>
public sealed record DemoDataResult(bool Loaded, int Contacts, int Orders, int Segments, int Templates, long? CampaignId);

/// <summary>
/// Sample data so a new user sees Herald working in a minute: a few thousand contacts across Indian and
/// other cities (leads and customers, with consent), their orders, three segments (VIP spenders, lapsed
/// customers, hot leads in Mumbai), a template per channel and a draft campaign. Generated with a fixed
/// seed (the same data every time) through the same services the API uses, so metrics and audit entries
/// are real. Loaded once per workspace: the audit entry <c>demo.load</c> marks it.
/// Called by <c>--demo</c> at start (the bootstrap or first workspace) and by first-run setup.
/// </summary>
public sealed class DemoData(HeraldDb db, ContactService contacts, CampaignService campaigns, AuditLog audit, TimeProvider clock, ILogger<DemoData> log)
{
    public const int DefaultContacts = 3000;
    public const string Marker = "demo.load";

    private sealed record City(string Name, string Region, string Country, string Timezone, int Weight, bool India);

    private static readonly City[] Cities =
    [
        new("Mumbai", "Maharashtra", "IN", "Asia/Kolkata", 20, true),
        new("Delhi", "Delhi", "IN", "Asia/Kolkata", 14, true),
        new("Bengaluru", "Karnataka", "IN", "Asia/Kolkata", 12, true),
        new("Pune", "Maharashtra", "IN", "Asia/Kolkata", 7, true),
        new("Hyderabad", "Telangana", "IN", "Asia/Kolkata", 7, true),
        new("Chennai", "Tamil Nadu", "IN", "Asia/Kolkata", 6, true),
        new("Kolkata", "West Bengal", "IN", "Asia/Kolkata", 5, true),
        new("Ahmedabad", "Gujarat", "IN", "Asia/Kolkata", 4, true),
        new("Jaipur", "Rajasthan", "IN", "Asia/Kolkata", 3, true),
        new("London", "England", "GB", "Europe/London", 5, false),
        new("New York", "New York", "US", "America/New_York", 5, false),
        new("Singapore", "Singapore", "SG", "Asia/Singapore", 4, false),
        new("Dubai", "Dubai", "AE", "Asia/Dubai", 5, false),
        new("Sydney", "New South Wales", "AU", "Australia/Sydney", 3, false),
    ];

    public Task<bool> IsLoadedAsync(long workspaceId, CancellationToken ct) =>
        db.AuditLog.AnyAsync(a => a.WorkspaceId == workspaceId && a.Action == Marker, ct);

    public async Task<DemoDataResult> LoadAsync(long workspaceId, int contactCount = DefaultContacts, CancellationToken ct = default)
    {
        if (await IsLoadedAsync(workspaceId, ct)) return new DemoDataResult(false, 0, 0, 0, 0, null);
        var caller = Caller.SystemFor(workspaceId);
        var now = clock.GetUtcNow().UtcDateTime;
        var f = new Faker("en_IND") { Random = new Randomizer(20261125) };
        // Bogus walks cumulative weights against a number in [0, 1): they must add up to 1.
        var weights = Cities.Select(c => (float)c.Weight / Cities.Sum(x => x.Weight)).ToArray();

        var people = new List<ContactInput>(contactCount);
        var orders = new List<EventInput>();
        for (var i = 0; i < contactCount; i++)
        {
            var city = f.Random.WeightedRandom(Cities, weights);
            var first = f.Name.FirstName();
            var last = f.Name.LastName();
            var customer = f.Random.Bool(0.6f);
            var email = $"{Slug(first)}.{Slug(last)}.{i}@example.com";
            var tags = new List<string> { "demo" };
            if (f.Random.Bool(0.3f)) tags.Add("newsletter");
            if (f.Random.Bool(0.2f)) tags.Add("app-user");
            var attributes = new JsonObject { ["source"] = f.PickRandom("website", "store", "instagram", "referral") };
            if (!customer) attributes["leadScore"] = f.Random.Int(0, 100);
            else attributes["plan"] = f.PickRandom("basic", "plus", "gold");
            var consent = new Dictionary<string, string> { ["email"] = f.Random.Bool(0.9f) ? "subscribed" : "unsubscribed" };
            string? phone = null;
            if (city.India)
            {
                // Indian mobiles: 10 digits starting 6-9.
                phone = "+91" + f.Random.Int(7, 9).ToString(CultureInfo.InvariantCulture) + f.Random.ReplaceNumbers("#########");
                consent["whatsapp"] = f.Random.Bool(0.8f) ? "subscribed" : "unsubscribed";
                consent["sms"] = f.Random.Bool(0.6f) ? "subscribed" : "unsubscribed";
            }
            people.Add(new ContactInput
            {
                ExternalId = $"demo-{i:D5}", Email = email, Phone = phone, FirstName = first, LastName = last, City = city.Name, Region = city.Region,
                Country = city.Country, Timezone = city.Timezone, Locale = city.India ? "en-IN" : "en", Lifecycle = customer ? Lifecycles.Customer : Lifecycles.Lead,
                Tags = tags, Attributes = attributes, Consent = consent,
            });
            if (!customer) continue;
            // A fifth of customers stopped buying 4-13 months ago (the lapsed segment); the rest bought in the last three months.
            var lapsed = f.Random.Bool(0.2f);
            var count = f.Random.WeightedRandom([1, 2, 3, 5, 8], [0.35f, 0.25f, 0.2f, 0.13f, 0.07f]);
            for (var k = 0; k < count; k++)
            {
                var daysAgo = lapsed ? f.Random.Int(125, 400) : f.Random.Int(1, 90);
                orders.Add(new EventInput
                {
                    ExternalId = $"demo-{i:D5}", Type = EventTypes.Order, Currency = city.India ? "INR" : "USD",
                    Value = city.India ? Math.Round(f.Random.Decimal(299, 14999)) : Math.Round(f.Random.Decimal(10, 400), 2),
                    OccurredAt = new DateTimeOffset(now.AddDays(-daysAgo).AddMinutes(-f.Random.Int(0, 1439)), TimeSpan.Zero),
                });
            }
        }

        var created = 0;
        foreach (var chunk in people.Chunk(2000)) created += (await contacts.BulkUpsertAsync(caller, chunk, ct)).Created;
        foreach (var chunk in orders.Chunk(5000)) await contacts.AddEventsByAddressAsync(caller, chunk, ct);

        var segments = new (string Name, string Filter)[]
        {
            ("VIP spenders", """{"totalSpent":{"gte":20000}}"""),
            ("Lapsed customers", """{"lifecycle":"customer","lastOrderDays":{"gt":120}}"""),
            ("Hot leads in Mumbai", """{"city":"Mumbai","lifecycle":"lead","leadScore":{"gte":70}}"""),
        };
        var segmentIds = new List<long>();
        foreach (var (name, filter) in segments)
        {
            using var doc = JsonDocument.Parse(filter);
            FilterCompiler.ParseOrThrow(doc.RootElement);
            var s = new Segment { WorkspaceId = workspaceId, Name = name, Filter = filter, CreatedAt = now, UpdatedAt = now };
            db.Add(s);
            await db.SaveChangesAsync(ct);
            segmentIds.Add(s.Id);
        }

        var templates = new (string Name, string Channel, ChannelContent Content)[]
        {
            ("Festive sale (email)", "email", new ChannelContent { Email = new EmailContent
            {
                Subject = "{{ contact.firstName | default: \"Hi there\" }}, our festive sale starts today",
                Html = "<h1>Festive sale</h1><p>Hi {{ contact.firstName | default: \"there\" }},</p><p>Up to 50% off across the store, this week only.</p><p><a href=\"https://shop.example.com/sale\">Shop the sale</a></p><p><small><a href=\"{{ unsubscribeUrl }}\">Unsubscribe</a></small></p>",
            } }),
            ("Order reminder (SMS)", "sms", new ChannelContent { Sms = new SmsContent { Body = "Hi {{ contact.firstName }}, your favourites are back in stock at {{ workspace.name }}. Reply STOP to opt out." } }),
            ("Seasonal offer (WhatsApp)", "whatsapp", new ChannelContent { Whatsapp = new WhatsAppContent { TemplateName = "seasonal_offer", Language = "en_US", Parameters = ["{{ contact.firstName | default: \"there\" }}", "20%"] } }),
            ("New arrivals (push)", "push", new ChannelContent { Push = new PushContent { Title = "New arrivals", Body = "{{ contact.firstName | default: \"Hi\" }}, fresh picks just landed.", Url = "https://shop.example.com/new" } }),
            ("CRM sync (webhook)", "webhook", new ChannelContent { Webhook = new WebhookContent { Url = "https://crm.example.com/hooks/herald", Body = "{\"email\": \"{{ contact.email }}\", \"campaign\": \"{{ campaign.name }}\"}" } }),
        };
        var templateIds = new Dictionary<string, long>();
        foreach (var (name, channel, content) in templates)
        {
            var t = new Template { WorkspaceId = workspaceId, Name = name, Channel = channel, Content = TemplatesApi.Serialize(content), CreatedBy = caller.Actor, CreatedAt = now, UpdatedAt = now };
            db.Add(t);
            await db.SaveChangesAsync(ct);
            templateIds[channel] = t.Id;
        }

        var campaign = await campaigns.CreateAsync(caller, new CampaignInput
        {
            Name = "Festive sale for VIP spenders", Channel = "email", TemplateId = templateIds["email"],
            Audience = new AudienceDefinition { SegmentIds = [segmentIds[0]] }, Schedule = new ScheduleDefinition { Type = "now" },
        }, ct);

        audit.Record(caller, Marker, "workspace", workspaceId, new { contacts = created, orders = orders.Count });
        await db.SaveChangesAsync(ct);
        log.LogInformation("Demo data loaded into workspace {WorkspaceId}: {Contacts} contacts, {Orders} orders", workspaceId, created, orders.Count);
        return new DemoDataResult(true, created, orders.Count, segmentIds.Count, templateIds.Count, campaign.Id);
    }

    private static string Slug(string s) => new(s.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());

    /// <summary>True when Herald was started with <c>--demo</c> (or <c>Herald:Demo=true</c>).</summary>
    public static bool Requested(IConfiguration config) =>
        config.GetValue<bool>("Herald:Demo");

    /// <summary>
    /// At start with <c>--demo</c>: loads the demo into the bootstrap workspace (or the first one). Before first-run
    /// setup there is no workspace yet; the setup page then offers the demo, ticked.
    /// </summary>
    public static async Task LoadOnStartAsync(IServiceProvider services, CancellationToken ct)
    {
        if (!Requested(services.GetRequiredService<IConfiguration>())) return;
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<HeraldDb>();
        var name = sp.GetRequiredService<IOptions<HeraldOptions>>().Value.Bootstrap.WorkspaceName;
        var ws = await db.Set<Workspace>().AsNoTracking().OrderBy(w => w.Name == name ? 0 : 1).ThenBy(w => w.Id).FirstOrDefaultAsync(ct);
        var logger = sp.GetRequiredService<ILogger<DemoData>>();
        if (ws is null)
        {
            logger.LogWarning("--demo: there is no workspace yet; finish the setup at /setup (the demo box is ticked) to load the demo data.");
            return;
        }
        var result = await sp.GetRequiredService<DemoData>().LoadAsync(ws.Id, DefaultContacts, ct);
        if (!result.Loaded) logger.LogInformation("--demo: workspace {Workspace} already has the demo data", ws.Name);
    }
}
