using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Storage;
using Herald.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace Herald.Contacts;

/// <summary>
/// Creating, upserting, editing and erasing contacts and recording their events. The API, the
/// dashboard and imports all go through here, so the rules (normalization, uniqueness, metrics)
/// live in one place.
/// </summary>
public sealed class ContactService(HeraldDb db, AuditLog audit, TimeProvider clock, IEnumerable<IContactObserver> observers)
{
    public const int MaxBulk = 10_000;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<Contact> GetAsync(Caller caller, long id, CancellationToken ct) =>
        await db.Contacts.FirstOrDefaultAsync(c => c.Id == id && c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null, ct)
        ?? throw new NotFoundException($"Contact {id}");

    /// <summary>Creates a contact, or updates the one matched by externalId, then email, then phone.</summary>
    public async Task<(Contact Contact, bool Created)> UpsertAsync(Caller caller, ContactInput input, CancellationToken ct)
    {
        var result = await BulkUpsertAsync(caller, [input], ct, writeAudit: false);
        var item = result.Results[0];
        if (item.Errors is not null)
        {
            if (item.Status == "conflict") throw new ConflictException(item.Errors.First().Value[0]);
            throw new ValidationFailedException(ToValidation(item.Errors));
        }
        var contact = await db.Contacts.FirstAsync(c => c.Id == long.Parse(item.Id!), ct);
        audit.Record(caller, item.Status == "created" ? "contact.create" : "contact.update", "contact", contact.Id);
        await db.SaveChangesAsync(ct);
        return (contact, item.Status == "created");
    }

    private static Validation ToValidation(IDictionary<string, string[]> errors)
    {
        var v = new Validation();
        foreach (var (k, msgs) in errors) foreach (var m in msgs) v.Add(k, m);
        return v;
    }

    /// <summary>
    /// Upserts many contacts in one transaction: existing contacts are looked up by key in a few
    /// set queries (not one per row), invalid items are reported per index and never stop the rest.
    /// </summary>
    public async Task<BulkResult> BulkUpsertAsync(Caller caller, IReadOnlyList<ContactInput> inputs, CancellationToken ct, bool writeAudit = true)
    {
        if (inputs.Count > MaxBulk) throw ValidationFailedException.For("contacts", $"At most {MaxBulk} contacts per call.");
        var ws = await db.Workspaces.AsNoTracking().FirstAsync(w => w.Id == caller.WorkspaceId, ct);
        var now = Now;

        var parsed = new (NormalizedContact? N, Validation V)[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var v = new Validation();
            parsed[i] = (NormalizedContact.From(inputs[i], ws, v, requireKey: true), v);
        }

        var emails = parsed.Where(p => p.N?.Email is { Length: > 0 }).Select(p => p.N!.Email!).Distinct().ToList();
        var phones = parsed.Where(p => p.N?.Phone is { Length: > 0 }).Select(p => p.N!.Phone!).Distinct().ToList();
        var externals = parsed.Where(p => p.N?.ExternalId is { Length: > 0 }).Select(p => p.N!.ExternalId!).Distinct().ToList();
        var existing = new List<Contact>();
        foreach (var chunk in emails.Chunk(500))
            existing.AddRange(await db.Contacts.Where(c => c.WorkspaceId == ws.Id && c.Email != null && chunk.Contains(c.Email)).ToListAsync(ct));
        foreach (var chunk in phones.Chunk(500))
            existing.AddRange(await db.Contacts.Where(c => c.WorkspaceId == ws.Id && c.Phone != null && chunk.Contains(c.Phone)).ToListAsync(ct));
        foreach (var chunk in externals.Chunk(500))
            existing.AddRange(await db.Contacts.Where(c => c.WorkspaceId == ws.Id && c.ExternalId != null && chunk.Contains(c.ExternalId)).ToListAsync(ct));
        var index = new ContactIndex(existing.DistinctBy(c => c.Id));

        var results = new List<BulkItemResult>(inputs.Count);
        var consent = new List<(Contact Contact, string Channel, string Status)>();
        var created = new List<(int Index, Contact Contact)>();
        var updated = new List<(int Index, Contact Contact, HashSet<string> TagsBefore)>();
        var failed = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var (n, v) = parsed[i];
            if (n is null || !v.IsValid)
            {
                results.Add(new BulkItemResult(i, "failed", null, v.ToDictionary()));
                failed++;
                continue;
            }
            var match = index.Find(n);
            if (match.Conflict is { } conflict)
            {
                results.Add(new BulkItemResult(i, "conflict", null, new Dictionary<string, string[]> { [conflict.Field] = [conflict.Message] }));
                failed++;
                continue;
            }
            if (match.Contact is { } contact)
            {
                if (contact.DeletedAt is not null)
                {
                    results.Add(new BulkItemResult(i, "failed", null, new Dictionary<string, string[]> { ["id"] = ["The matching contact was erased."] }));
                    failed++;
                    continue;
                }
                index.Remove(contact);
                var tagsBefore = contact.Tags.ToHashSet();
                foreach (var (ch, st) in n.ApplyTo(contact, now, "api")) consent.Add((contact, ch, st));
                contact.UpdatedAt = now;
                index.Add(contact);
                updated.Add((i, contact, tagsBefore));
                results.Add(new BulkItemResult(i, "updated", null, null));
            }
            else
            {
                var c = new Contact { WorkspaceId = ws.Id, CreatedAt = now, UpdatedAt = now };
                foreach (var (ch, st) in n.ApplyTo(c, now, "api")) consent.Add((c, ch, st));
                db.Contacts.Add(c);
                index.Add(c);
                created.Add((i, c));
                results.Add(new BulkItemResult(i, "created", null, null));
            }
        }
        if (writeAudit && (created.Count + updated.Count) > 0)
            audit.Record(caller, "contact.bulk_upsert", "contact", null, new { created = created.Count, updated = updated.Count, failed });
        await SaveWithConsentHistoryAsync(consent, now, ct);
        foreach (var (i, c) in created.Concat(updated.Select(u => (u.Index, u.Contact))))
            results[i] = results[i] with { Id = c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (created.Count > 0)
            foreach (var o in observers) await o.ContactsCreatedAsync(ws.Id, created.Select(x => x.Contact.Id).ToList(), ct);
        if (updated.Count > 0)
        {
            // A contact can appear twice in one call (matched by email, then by phone): report it once, with every tag it gained.
            var changes = updated.GroupBy(u => u.Contact.Id)
                .Select(g => new ContactChange(g.Key, g.Last().Contact.Tags.Where(t => !g.First().TagsBefore.Contains(t)).ToList())).ToList();
            foreach (var o in observers) await o.ContactsUpdatedAsync(ws.Id, changes, ct);
        }
        return new BulkResult(created.Count, updated.Count, failed, results);
    }

    public async Task<Contact> PatchAsync(Caller caller, long id, ContactInput input, CancellationToken ct)
    {
        var contact = await GetAsync(caller, id, ct);
        var ws = await db.Workspaces.AsNoTracking().FirstAsync(w => w.Id == caller.WorkspaceId, ct);
        var v = new Validation();
        var n = NormalizedContact.From(input, ws, v, requireKey: false);
        v.ThrowIfInvalid();
        await EnsureKeysFreeAsync(contact, n!, ct);
        var tagsBefore = contact.Tags.ToHashSet();
        var consent = n!.ApplyTo(contact, Now, "api").Select(x => (contact, x.Channel, x.Status)).ToList();
        if (contact.Email is null && contact.Phone is null && contact.ExternalId is null)
            throw ValidationFailedException.For("email", "A contact needs an email, a phone or an externalId.");
        contact.UpdatedAt = Now;
        audit.Record(caller, "contact.update", "contact", contact.Id);
        await SaveWithConsentHistoryAsync(consent, Now, ct);
        var added = contact.Tags.Where(t => !tagsBefore.Contains(t)).ToList();
        foreach (var o in observers) await o.ContactsUpdatedAsync(contact.WorkspaceId, [new ContactChange(contact.Id, added)], ct);
        return contact;
    }

    /// <summary>
    /// Saves the pending changes and, in the same transaction, one consent_change row per consent
    /// status the API set (new contacts get their ids from the first save).
    /// </summary>
    private async Task SaveWithConsentHistoryAsync(List<(Contact Contact, string Channel, string Status)> consent, DateTime now, CancellationToken ct)
    {
        if (consent.Count == 0) { await db.SaveChangesAsync(ct); return; }
        await using var tx = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        await db.SaveChangesAsync(ct);
        db.ConsentChanges.AddRange(consent.Select(x => new ConsentChange
        {
            WorkspaceId = x.Contact.WorkspaceId, ContactId = x.Contact.Id, Channel = x.Channel, Status = x.Status, Source = "api", At = now,
        }));
        await db.SaveChangesAsync(ct);
        if (tx is not null) await tx.CommitAsync(ct);
    }

    /// <summary>The contact's consent history, newest first.</summary>
    public async Task<List<ConsentChangeDto>> ConsentHistoryAsync(Caller caller, long id, CancellationToken ct)
    {
        var contact = await GetAsync(caller, id, ct);
        return await db.ConsentChanges.AsNoTracking().Where(x => x.ContactId == contact.Id && x.WorkspaceId == caller.WorkspaceId)
            .OrderByDescending(x => x.At).ThenByDescending(x => x.Id).Take(500)
            .Select(x => new ConsentChangeDto(x.Channel, x.Status, x.Source, x.At)).ToListAsync(ct);
    }

    private async Task EnsureKeysFreeAsync(Contact contact, NormalizedContact n, CancellationToken ct)
    {
        async Task Check(string field, string? value, System.Linq.Expressions.Expression<Func<Contact, bool>> same)
        {
            if (string.IsNullOrEmpty(value)) return;
            if (await db.Contacts.Where(c => c.WorkspaceId == contact.WorkspaceId && c.Id != contact.Id).AnyAsync(same, ct))
                throw new ConflictException($"Another contact already has {field} '{value}'.");
        }
        await Check("email", n.Email, c => c.Email == n.Email);
        await Check("phone", n.Phone, c => c.Phone == n.Phone);
        await Check("externalId", n.ExternalId, c => c.ExternalId == n.ExternalId);
    }

    /// <summary>Erases personal data and keeps an anonymous tombstone so campaign stats still add up.</summary>
    public async Task EraseAsync(Caller caller, long id, CancellationToken ct)
    {
        var c = await GetAsync(caller, id, ct);
        c.ExternalId = c.Email = c.Phone = c.FirstName = c.LastName = c.City = c.Region = c.Country = c.Locale = c.Timezone = null;
        c.Tags = [];
        c.Attributes = "{}";
        c.ConsentDetail = "{}";
        c.DeletedAt = c.UpdatedAt = Now;
        await db.ContactEvents.Where(e => e.ContactId == id).ExecuteUpdateAsync(s => s.SetProperty(e => e.Properties, (string?)null), ct);
        audit.Record(caller, "contact.erase", "contact", id);
        await db.SaveChangesAsync(ct);
    }

    public async Task<Paged<ContactDto>> SearchAsync(Caller caller, string? q, string? tag, PageRequest page, IQueryable<Contact>? scope, CancellationToken ct)
    {
        var query = (scope ?? db.Contacts).AsNoTracking().Where(c => c.WorkspaceId == caller.WorkspaceId && c.DeletedAt == null);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var s = q.Trim().ToLowerInvariant();
            query = query.Where(c => (c.Email != null && c.Email.Contains(s)) || (c.Phone != null && c.Phone.Contains(s))
                || (c.ExternalId != null && c.ExternalId.ToLower() == s)
                || (c.FirstName != null && c.FirstName.ToLower().Contains(s)) || (c.LastName != null && c.LastName.ToLower().Contains(s)));
        }
        if (!string.IsNullOrWhiteSpace(tag))
        {
            var t = tag.Trim().ToLowerInvariant();
            query = query.Where(c => c.Tags.Contains(t));
        }
        var total = await query.LongCountAsync(ct);
        var rows = await query.OrderByDescending(c => c.Id).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        var now = Now;
        return new Paged<ContactDto>(rows.Select(c => ContactDto.From(c, now)).ToList(), total, page.Page, page.Limit);
    }

    /// <summary>Records events for one contact; <c>order</c> events update the order metrics in the same transaction.</summary>
    public async Task<List<ContactEvent>> AddEventsAsync(Caller caller, long contactId, IReadOnlyList<EventInput> inputs, CancellationToken ct)
    {
        var contact = await GetAsync(caller, contactId, ct);
        var v = new Validation();
        var events = inputs.Select((e, i) => ToEvent(contact, e, v, inputs.Count == 1 ? "" : $"events[{i}]")).ToList();
        v.ThrowIfInvalid();
        db.ContactEvents.AddRange(events!);
        foreach (var e in events) ApplyMetrics(contact, e!);
        audit.Record(caller, "contact.event", "contact", contactId, new { types = events.Select(e => e!.Type).Distinct() });
        await db.SaveChangesAsync(ct);
        foreach (var o in observers) await o.EventsRecordedAsync(contact.WorkspaceId, events!, ct);
        return events!;
    }

    /// <summary>
    /// Records events addressed by externalId, email or phone. An address that matches no contact
    /// creates one (as a tracking API would), so events are never dropped for an unknown sender.
    /// </summary>
    public async Task<BulkResult> AddEventsByAddressAsync(Caller caller, IReadOnlyList<EventInput> inputs, CancellationToken ct)
    {
        if (inputs.Count > MaxBulk) throw ValidationFailedException.For("events", $"At most {MaxBulk} events per call.");
        var upserts = inputs.Select(e => new ContactInput { ExternalId = e.ExternalId, Email = e.Email, Phone = e.Phone }).ToList();
        // Validate event shape first so a bad event does not create a contact.
        var shapeErrors = new Validation?[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var v = new Validation();
            ValidateEventShape(inputs[i], v, "");
            shapeErrors[i] = v.IsValid ? null : v;
        }
        var toUpsert = Enumerable.Range(0, inputs.Count).Where(i => shapeErrors[i] is null).ToList();
        var upserted = await BulkUpsertAsync(caller, toUpsert.Select(i => upserts[i]).ToList(), ct, writeAudit: false);
        var results = new BulkItemResult[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
            if (shapeErrors[i] is { } v) results[i] = new BulkItemResult(i, "failed", null, v.ToDictionary());
        var ids = new Dictionary<int, long>();
        for (var k = 0; k < toUpsert.Count; k++)
        {
            var r = upserted.Results[k];
            var i = toUpsert[k];
            if (r.Id is null) results[i] = new BulkItemResult(i, "failed", null, r.Errors);
            else ids[i] = long.Parse(r.Id);
        }
        var contacts = await LoadContactsAsync(caller.WorkspaceId, ids.Values.Distinct().ToList(), ct);
        var events = new List<ContactEvent>();
        foreach (var (i, cid) in ids)
        {
            var e = ToEvent(contacts[cid], inputs[i], new Validation(), "")!;
            events.Add(e);
            ApplyMetrics(contacts[cid], e);
            results[i] = new BulkItemResult(i, "created", null, null);
        }
        db.ContactEvents.AddRange(events);
        audit.Record(caller, "contact.events", "contact", null, new { count = events.Count });
        await db.SaveChangesAsync(ct);
        var n = 0;
        foreach (var (i, _) in ids) results[i] = results[i] with { Id = events[n++].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var o in observers) await o.EventsRecordedAsync(caller.WorkspaceId, events, ct);
        return new BulkResult(events.Count, 0, inputs.Count - events.Count, results);
    }

    private async Task<Dictionary<long, Contact>> LoadContactsAsync(long ws, List<long> ids, CancellationToken ct)
    {
        var map = new Dictionary<long, Contact>();
        foreach (var chunk in ids.Chunk(500))
            foreach (var c in await db.Contacts.Where(c => c.WorkspaceId == ws && chunk.Contains(c.Id)).ToListAsync(ct))
                map[c.Id] = c;
        return map;
    }

    private static void ValidateEventShape(EventInput e, Validation v, string prefix)
    {
        string F(string f) => string.IsNullOrEmpty(prefix) ? f : $"{prefix}.{f}";
        if (string.IsNullOrWhiteSpace(e.Type)) v.Add(F("type"), "The event type is required.");
        else if (e.Type.Length > 64) v.Add(F("type"), "At most 64 characters.");
        if (e.Currency is { } cur && (cur.Length != 3 || !cur.All(char.IsLetter))) v.Add(F("currency"), "Use a 3-letter ISO 4217 code.");
        if (e.Value is < 0 && e.Type == EventTypes.Order) v.Add(F("value"), "An order's value cannot be negative.");
        if (e.Value is { } value && Math.Abs(value) > Money.MaxAmount) v.Add(F("value"), Money.TooLarge);
    }

    private ContactEvent? ToEvent(Contact contact, EventInput e, Validation v, string prefix)
    {
        ValidateEventShape(e, v, prefix);
        if (!v.IsValid) return null;
        var now = Now;
        return new ContactEvent
        {
            WorkspaceId = contact.WorkspaceId, ContactId = contact.Id, Type = e.Type!.Trim(), Value = e.Value,
            Currency = e.Currency?.ToUpperInvariant(), OccurredAt = e.OccurredAt?.UtcDateTime ?? now,
            Properties = e.Properties?.ToJsonString(), CreatedAt = now,
        };
    }

    /// <summary>Order events move the contact's order metrics; the first order makes a lead a customer.</summary>
    public static void ApplyMetrics(Contact c, ContactEvent e)
    {
        if (e.Type != EventTypes.Order) return;
        c.TotalOrders++;
        c.TotalSpent += e.Value ?? 0;
        if (c.LastOrderAt is null || e.OccurredAt > c.LastOrderAt) c.LastOrderAt = e.OccurredAt;
        if (c.FirstOrderAt is null || e.OccurredAt < c.FirstOrderAt) c.FirstOrderAt = e.OccurredAt;
        c.Lifecycle = Lifecycles.Customer;
    }

    public async Task<Paged<EventDto>> ListEventsAsync(Caller caller, long contactId, PageRequest page, CancellationToken ct)
    {
        await GetAsync(caller, contactId, ct);
        var q = db.ContactEvents.AsNoTracking().Where(e => e.ContactId == contactId && e.WorkspaceId == caller.WorkspaceId);
        var total = await q.LongCountAsync(ct);
        var rows = await q.OrderByDescending(e => e.OccurredAt).Skip(page.Skip).Take(page.Limit).ToListAsync(ct);
        return new Paged<EventDto>(rows.Select(ToDto).ToList(), total, page.Page, page.Limit);
    }

    public static EventDto ToDto(ContactEvent e) => new(e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        e.ContactId.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Type, e.Value, e.Currency, e.OccurredAt,
        e.Properties is null ? null : JsonDocument.Parse(e.Properties).RootElement);

    /// <summary>Index of contacts by their three keys, kept current while a batch is applied.</summary>
    private sealed class ContactIndex
    {
        private readonly Dictionary<string, Contact> _byEmail = new(), _byPhone = new(), _byExternal = new();

        public ContactIndex(IEnumerable<Contact> contacts)
        {
            foreach (var c in contacts) Add(c);
        }

        public void Add(Contact c)
        {
            if (c.Email is not null) _byEmail[c.Email] = c;
            if (c.Phone is not null) _byPhone[c.Phone] = c;
            if (c.ExternalId is not null) _byExternal[c.ExternalId] = c;
        }

        public void Remove(Contact c)
        {
            if (c.Email is not null) _byEmail.Remove(c.Email);
            if (c.Phone is not null) _byPhone.Remove(c.Phone);
            if (c.ExternalId is not null) _byExternal.Remove(c.ExternalId);
        }

        public (Contact? Contact, (string Field, string Message)? Conflict) Find(NormalizedContact n)
        {
            Contact? byExt = n.ExternalId is { Length: > 0 } x ? _byExternal.GetValueOrDefault(x) : null;
            Contact? byEmail = n.Email is { Length: > 0 } e ? _byEmail.GetValueOrDefault(e) : null;
            Contact? byPhone = n.Phone is { Length: > 0 } p ? _byPhone.GetValueOrDefault(p) : null;
            var match = byExt ?? byEmail ?? byPhone;
            if (match is null) return (null, null);
            if (byEmail is not null && byEmail != match)
                return (null, ("email", $"Email '{n.Email}' belongs to another contact ({byEmail.Id})."));
            if (byPhone is not null && byPhone != match)
                return (null, ("phone", $"Phone '{n.Phone}' belongs to another contact ({byPhone.Id})."));
            return (match, null);
        }
    }
}

/// <summary>A validated, normalized <see cref="ContactInput"/>; null fields mean "leave as is", empty strings "clear".</summary>
internal sealed class NormalizedContact
{
    public string? ExternalId, Email, Phone, FirstName, LastName, Locale, Timezone, City, Region, Country, Lifecycle;
    public List<string>? Tags;
    public JsonObject? Attributes;
    public Dictionary<string, string>? Consent;

    public static NormalizedContact? From(ContactInput i, Workspace ws, Validation v, bool requireKey)
    {
        var n = new NormalizedContact();
        n.ExternalId = Text(i.ExternalId, "externalId", 200, v);
        if (i.Email is not null)
            n.Email = i.Email.Length == 0 ? "" : ContactFields.NormalizeEmail(i.Email, out var err) ?? Fail(v, "email", err);
        if (i.Phone is not null)
            n.Phone = i.Phone.Length == 0 ? "" : ContactFields.NormalizePhone(i.Phone, ws.DefaultPhoneRegion, out var err) ?? Fail(v, "phone", err);
        n.FirstName = Text(i.FirstName, "firstName", 200, v);
        n.LastName = Text(i.LastName, "lastName", 200, v);
        if (i.Name is { Length: > 0 } full && n.FirstName is null && n.LastName is null)
        {
            var parts = full.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            n.FirstName = parts.Length > 0 ? Text(parts[0], "name", 200, v) : null;
            n.LastName = parts.Length > 1 ? Text(parts[1], "name", 200, v) : null;
        }
        n.Locale = Text(i.Locale, "locale", 35, v);
        if (i.Timezone is { Length: > 0 } tz && !ContactFields.IsValidTimezone(tz)) v.Add("timezone", $"'{tz}' is not a known IANA timezone.");
        else n.Timezone = Text(i.Timezone, "timezone", 64, v);
        n.City = Text(i.City, "city", 200, v);
        n.Region = Text(i.Region, "region", 200, v);
        n.Country = Text(i.Country, "country", 100, v);
        if (i.Lifecycle is { } lc && !Lifecycles.All.Contains(lc)) v.Add("lifecycle", "Use 'lead' or 'customer'.");
        else n.Lifecycle = i.Lifecycle;
        if (i.Tags is not null)
        {
            n.Tags = ContactFields.NormalizeTags(i.Tags);
            if (n.Tags.Count > 100) v.Add("tags", "At most 100 tags.");
            if (n.Tags.Any(t => t.Length > 64)) v.Add("tags", "A tag has at most 64 characters.");
        }
        if (i.Attributes is not null)
        {
            n.Attributes = i.Attributes;
            if (i.Attributes.ToJsonString().Length > 16_384) v.Add("attributes", "Attributes are limited to 16 KB of JSON.");
            foreach (var (k, _) in i.Attributes)
                if (k.Length is 0 or > 64 || k.Contains('.')) v.Add($"attributes.{k}", "Attribute names have 1 to 64 characters and no dots.");
        }
        if (i.Consent is not null)
        {
            foreach (var (ch, status) in i.Consent)
            {
                if (ch is not (Channels.ChannelNames.Email or Channels.ChannelNames.Sms or Channels.ChannelNames.WhatsApp or Channels.ChannelNames.Push))
                    v.Add($"consent.{ch}", "Consent is kept for email, sms, whatsapp and push.");
                else if (!ConsentStatus.All.Contains(status)) v.Add($"consent.{ch}", "Use 'subscribed' or 'unsubscribed'.");
            }
            n.Consent = i.Consent;
        }
        if (requireKey && string.IsNullOrEmpty(n.Email) && string.IsNullOrEmpty(n.Phone) && string.IsNullOrEmpty(n.ExternalId) && v.IsValid)
            v.Add("email", "A contact needs an email, a phone or an externalId.");
        return v.IsValid ? n : null;
    }

    private static string? Fail(Validation v, string field, string? error)
    {
        v.Add(field, error ?? "Invalid value.");
        return null;
    }

    private static string? Text(string? value, string field, int max, Validation v)
    {
        if (value is null) return null;
        var t = value.Trim();
        if (t.Length > max) v.Add(field, $"At most {max} characters.");
        return t;
    }

    /// <summary>Applies the given fields; returns the consent statuses it changed (for the consent history).</summary>
    public List<(string Channel, string Status)> ApplyTo(Contact c, DateTime now, string source)
    {
        var consentChanges = new List<(string Channel, string Status)>();
        static string? Set(string? incoming, string? current) => incoming is null ? current : incoming.Length == 0 ? null : incoming;
        c.ExternalId = Set(ExternalId, c.ExternalId);
        c.Email = Set(Email, c.Email);
        c.Phone = Set(Phone, c.Phone);
        c.FirstName = Set(FirstName, c.FirstName);
        c.LastName = Set(LastName, c.LastName);
        c.Locale = Set(Locale, c.Locale);
        c.Timezone = Set(Timezone, c.Timezone);
        c.City = Set(City, c.City);
        c.Region = Set(Region, c.Region);
        c.Country = Set(Country, c.Country);
        if (Lifecycle is not null) c.Lifecycle = Lifecycle;
        if (Tags is not null) c.Tags = Tags;
        if (Attributes is not null)
        {
            // Merge: given keys replace, a null value removes the key.
            var merged = JsonNode.Parse(string.IsNullOrEmpty(c.Attributes) ? "{}" : c.Attributes) as JsonObject ?? [];
            foreach (var (k, val) in Attributes)
            {
                if (val is null) merged.Remove(k);
                else merged[k] = val.DeepClone();
            }
            c.Attributes = merged.ToJsonString();
        }
        if (Consent is not null)
        {
            var detail = JsonNode.Parse(string.IsNullOrEmpty(c.ConsentDetail) ? "{}" : c.ConsentDetail) as JsonObject ?? [];
            foreach (var (ch, status) in Consent)
            {
                if (c.ConsentFor(ch) == status && detail[ch] is not null) continue;
                c.SetConsent(ch, status);
                detail[ch] = new JsonObject { ["at"] = now, ["source"] = source };
                consentChanges.Add((ch, status));
            }
            c.ConsentDetail = detail.ToJsonString();
        }
        return consentChanges;
    }
}

/// <summary>An existing contact that a save changed, with the tags it gained.</summary>
public sealed record ContactChange(long ContactId, IReadOnlyList<string> AddedTags);

/// <summary>Told about contact changes after they are saved (journeys and segment triggers listen here).</summary>
public interface IContactObserver
{
    Task ContactsCreatedAsync(long workspaceId, IReadOnlyList<long> contactIds, CancellationToken ct);
    /// <summary>Existing contacts were changed (one call per save, however many contacts it changed).</summary>
    Task ContactsUpdatedAsync(long workspaceId, IReadOnlyList<ContactChange> changes, CancellationToken ct);
    Task EventsRecordedAsync(long workspaceId, IReadOnlyList<ContactEvent> events, CancellationToken ct);
}
