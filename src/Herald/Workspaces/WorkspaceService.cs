using System.Text.Json;
using Herald.Audit;
using Herald.Auth;
using Herald.Common;
using Herald.Contacts;
using Herald.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Herald.Workspaces;

public sealed record WorkspaceDto(string Id, string Name, string Timezone, string DefaultPhoneRegion, bool ApprovalRequired,
    IReadOnlyDictionary<string, int> DailyLimits, FrequencyCapDto? FrequencyCap, QuietHoursDto? QuietHours, DateTime CreatedAt, string? Role = null);

public sealed record FrequencyCapDto(int Max, int PeriodDays);

/// <summary>Quiet hours: no sends between <c>start</c> and <c>end</c> (HH:mm) in <c>timezone</c> (IANA or <c>recipient</c>).</summary>
public sealed record QuietHoursDto(string Start, string End, string? Timezone);

public sealed class WorkspaceInput
{
    public string? Name { get; set; }
    public string? Timezone { get; set; }
    public string? DefaultPhoneRegion { get; set; }
    public bool? ApprovalRequired { get; set; }
    public Dictionary<string, int>? DailyLimits { get; set; }
    public FrequencyCapDto? FrequencyCap { get; set; }
    public QuietHoursDto? QuietHours { get; set; }
    /// <summary>Removes the frequency cap (null <see cref="FrequencyCap"/> means "unchanged"). Not part of the JSON contract yet.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public bool ClearFrequencyCap { get; set; }
    /// <summary>Removes the quiet hours (null <see cref="QuietHours"/> means "unchanged"). Not part of the JSON contract yet.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public bool ClearQuietHours { get; set; }
}

public sealed record UserDto(string Id, string Email, string? Name, string Role, DateTime CreatedAt);

public sealed class UserInput
{
    public string? Email { get; set; }
    public string? Name { get; set; }
    public string? Password { get; set; }
    public string? Role { get; set; }
}

public sealed record ApiKeyDto(string Id, string Name, string Prefix, string Role, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt, string? Key = null);

public sealed class ApiKeyInput
{
    public string? Name { get; set; }
    public string? Role { get; set; }
}

/// <summary>Workspaces, their members and API keys; also first-run setup and bootstrap.</summary>
public sealed class WorkspaceService(HeraldDb db, AuditLog audit, TimeProvider clock, IPasswordHasher<User> hasher, Microsoft.Extensions.Caching.Memory.IMemoryCache cache)
{
    public const int MinPasswordLength = 8;
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public static WorkspaceDto ToDto(Workspace w, Role? role = null) => new(
        w.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), w.Name, w.Timezone, w.DefaultPhoneRegion, w.ApprovalRequired,
        JsonSerializer.Deserialize<Dictionary<string, int>>(w.DailyLimits) ?? [],
        w.FrequencyCapMax is { } max ? new FrequencyCapDto(max, w.FrequencyCapPeriodDays) : null,
        w.QuietHours is null ? null : JsonSerializer.Deserialize<QuietHoursDto>(w.QuietHours, HeraldJson.Options),
        w.CreatedAt, role?.ToString().ToLowerInvariant());

    public async Task<Workspace> GetAsync(long id, CancellationToken ct) =>
        await db.Workspaces.FirstOrDefaultAsync(w => w.Id == id, ct) ?? throw new NotFoundException("Workspace");

    public static void ApplySettings(Workspace w, WorkspaceInput input, Validation v)
    {
        if (input.Name is not null)
        {
            if (string.IsNullOrWhiteSpace(input.Name) || input.Name.Length > 200) v.Add("name", "A name of 1 to 200 characters is required.");
            else w.Name = input.Name.Trim();
        }
        if (input.Timezone is not null)
        {
            if (!ContactFields.IsValidTimezone(input.Timezone)) v.Add("timezone", $"'{input.Timezone}' is not a known IANA timezone.");
            else w.Timezone = input.Timezone;
        }
        if (input.DefaultPhoneRegion is not null)
        {
            if (!ContactFields.IsValidRegion(input.DefaultPhoneRegion)) v.Add("defaultPhoneRegion", "Use a two-letter region code such as IN or US.");
            else w.DefaultPhoneRegion = input.DefaultPhoneRegion.ToUpperInvariant();
        }
        if (input.ApprovalRequired is { } ar) w.ApprovalRequired = ar;
        if (input.DailyLimits is not null)
        {
            foreach (var (ch, n) in input.DailyLimits)
            {
                if (!Channels.ChannelNames.IsKnown(ch)) v.Add($"dailyLimits.{ch}", "Unknown channel.");
                if (n < 0) v.Add($"dailyLimits.{ch}", "A limit cannot be negative.");
            }
            w.DailyLimits = JsonSerializer.Serialize(input.DailyLimits);
        }
        if (input.FrequencyCap is { } cap)
        {
            if (cap.Max < 1) v.Add("frequencyCap.max", "At least 1.");
            if (cap.PeriodDays is < 1 or > 365) v.Add("frequencyCap.periodDays", "Between 1 and 365 days.");
            w.FrequencyCapMax = cap.Max;
            w.FrequencyCapPeriodDays = cap.PeriodDays;
        }
        if (input.QuietHours is { } qh)
        {
            if (!TimeOnly.TryParseExact(qh.Start, "HH:mm", out _)) v.Add("quietHours.start", "Use HH:mm.");
            if (!TimeOnly.TryParseExact(qh.End, "HH:mm", out _)) v.Add("quietHours.end", "Use HH:mm.");
            if (qh.Timezone is { } tz && tz != "recipient" && !ContactFields.IsValidTimezone(tz)) v.Add("quietHours.timezone", "An IANA timezone or 'recipient'.");
            w.QuietHours = JsonSerializer.Serialize(qh, HeraldJson.Options);
        }
        if (input.ClearFrequencyCap && input.FrequencyCap is null) w.FrequencyCapMax = null;
        if (input.ClearQuietHours && input.QuietHours is null) w.QuietHours = null;
    }

    public async Task<Workspace> UpdateAsync(Caller caller, WorkspaceInput input, CancellationToken ct)
    {
        var w = await GetAsync(caller.WorkspaceId, ct);
        var v = new Validation();
        ApplySettings(w, input, v);
        v.ThrowIfInvalid();
        audit.Record(caller, "workspace.update", "workspace", w.Id);
        await db.SaveChangesAsync(ct);
        return w;
    }

    /// <summary>Creates a workspace and makes <paramref name="adminUserId"/> its admin.</summary>
    public async Task<Workspace> CreateAsync(Caller? caller, long adminUserId, WorkspaceInput input, CancellationToken ct)
    {
        var w = new Workspace { Name = "", CreatedAt = Now };
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(input.Name)) v.Add("name", "A name is required.");
        ApplySettings(w, input, v);
        v.ThrowIfInvalid();
        db.Workspaces.Add(w);
        await db.SaveChangesAsync(ct);
        db.Memberships.Add(new Membership { WorkspaceId = w.Id, UserId = adminUserId, Role = Role.Admin, CreatedAt = Now });
        audit.Record(caller is null ? Caller.SystemFor(w.Id) : caller with { WorkspaceId = w.Id }, "workspace.create", "workspace", w.Id);
        await db.SaveChangesAsync(ct);
        return w;
    }

    public async Task<List<(Workspace Workspace, Role Role)>> ListForUserAsync(long userId, CancellationToken ct) =>
        (await db.Memberships.AsNoTracking().Where(m => m.UserId == userId)
            .Join(db.Workspaces, m => m.WorkspaceId, w => w.Id, (m, w) => new { w, m.Role }).OrderBy(x => x.w.Id).ToListAsync(ct))
        .Select(x => (x.w, x.Role)).ToList();

    public async Task<bool> AnyUserAsync(CancellationToken ct) => await db.Users.AnyAsync(ct);

    public static Role? ParseRole(string? role) =>
        Enum.TryParse<Role>(role, ignoreCase: true, out var r) && Enum.IsDefined(r) && !int.TryParse(role, out _) ? r : null;

    public async Task<User?> VerifyPasswordAsync(string email, string password, CancellationToken ct)
    {
        var normalized = email.Trim().ToLowerInvariant();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        if (user?.PasswordHash is null) return null;
        var result = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (result == PasswordVerificationResult.Failed) return null;
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
            await db.SaveChangesAsync(ct);
        }
        return user;
    }

    /// <summary>First-run setup: the first admin and workspace. Refused once any user exists.</summary>
    public async Task<(User User, Workspace Workspace)> SetupAsync(string email, string password, string? name, string workspaceName, string? timezone, CancellationToken ct)
    {
        if (await AnyUserAsync(ct)) throw new ConflictException("Herald is already set up.");
        var v = new Validation();
        var normalized = ContactFields.NormalizeEmail(email, out var err);
        if (normalized is null) v.Add("email", err ?? "An email is required.");
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength) v.Add("password", $"At least {MinPasswordLength} characters.");
        if (string.IsNullOrWhiteSpace(workspaceName)) v.Add("workspace", "A workspace name is required.");
        v.ThrowIfInvalid();
        var user = new User { Email = normalized!, Name = name, CreatedAt = Now };
        user.PasswordHash = hasher.HashPassword(user, password);
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        var ws = await CreateAsync(null, user.Id, new WorkspaceInput { Name = workspaceName, Timezone = timezone }, ct);
        return (user, ws);
    }

    /// <summary>
    /// Applies <c>Herald:Bootstrap</c> on a database with no users: the admin, workspace "default" and
    /// the given API key (stored hashed like any other). Does nothing once anyone exists.
    /// </summary>
    public async Task BootstrapAsync(Hosting.BootstrapOptions options, CancellationToken ct)
    {
        if (options.AdminEmail is null && options.ApiKey is null) return;
        if (await AnyUserAsync(ct) || await db.Workspaces.AnyAsync(ct)) return;
        var email = options.AdminEmail ?? "admin@localhost.localdomain";
        var user = new User { Email = email.Trim().ToLowerInvariant(), Name = "Admin", CreatedAt = Now };
        if (options.AdminPassword is { Length: > 0 } pw) user.PasswordHash = hasher.HashPassword(user, pw);
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        var ws = await CreateAsync(null, user.Id, new WorkspaceInput { Name = options.WorkspaceName }, ct);
        if (options.ApiKey is { Length: > 0 } key)
        {
            db.ApiKeys.Add(ApiKeys.Create(ws.Id, "bootstrap", Role.Admin, user.Id, Now, key, out _));
            await db.SaveChangesAsync(ct);
        }
    }

    public async Task<List<UserDto>> ListMembersAsync(Caller caller, CancellationToken ct) =>
        (await db.Memberships.AsNoTracking().Include(m => m.User).Where(m => m.WorkspaceId == caller.WorkspaceId).OrderBy(m => m.UserId).ToListAsync(ct))
        .Select(ToUserDto).ToList();

    private static UserDto ToUserDto(Membership m) => new(m.UserId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        m.User!.Email, m.User.Name, m.Role.ToString().ToLowerInvariant(), m.CreatedAt);

    /// <summary>Adds a member: an existing user by email, or a new user with the given password.</summary>
    public async Task<UserDto> AddMemberAsync(Caller caller, UserInput input, CancellationToken ct)
    {
        var v = new Validation();
        var email = ContactFields.NormalizeEmail(input.Email, out var err);
        if (email is null) v.Add("email", err ?? "An email is required.");
        var role = ParseRole(input.Role);
        if (role is null) v.Add("role", "Use viewer, editor, approver or admin.");
        v.ThrowIfInvalid();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == email, ct);
        if (user is null)
        {
            if (string.IsNullOrEmpty(input.Password) || input.Password.Length < MinPasswordLength)
                throw ValidationFailedException.For("password", $"A new user needs a password of at least {MinPasswordLength} characters.");
            user = new User { Email = email!, Name = input.Name, CreatedAt = Now };
            user.PasswordHash = hasher.HashPassword(user, input.Password);
            db.Users.Add(user);
            await db.SaveChangesAsync(ct);
        }
        if (await db.Memberships.AnyAsync(m => m.WorkspaceId == caller.WorkspaceId && m.UserId == user.Id, ct))
            throw new ConflictException($"{email} is already a member of this workspace.");
        var m = new Membership { WorkspaceId = caller.WorkspaceId, UserId = user.Id, Role = role!.Value, CreatedAt = Now, User = user };
        db.Memberships.Add(m);
        audit.Record(caller, "user.add", "user", user.Id, new { role = m.Role.ToString().ToLowerInvariant() });
        await db.SaveChangesAsync(ct);
        return ToUserDto(m);
    }

    public async Task<UserDto> ChangeRoleAsync(Caller caller, long userId, UserInput input, CancellationToken ct)
    {
        var m = await db.Memberships.Include(x => x.User).FirstOrDefaultAsync(x => x.WorkspaceId == caller.WorkspaceId && x.UserId == userId, ct)
            ?? throw new NotFoundException($"User {userId}");
        if (input.Role is not null)
        {
            var role = ParseRole(input.Role) ?? throw ValidationFailedException.For("role", "Use viewer, editor, approver or admin.");
            if (m.Role == Role.Admin && role != Role.Admin) await EnsureAnotherAdminAsync(caller.WorkspaceId, userId, ct);
            m.Role = role;
        }
        if (input.Name is not null) m.User!.Name = input.Name;
        audit.Record(caller, "user.update", "user", userId, new { role = m.Role.ToString().ToLowerInvariant() });
        await db.SaveChangesAsync(ct);
        return ToUserDto(m);
    }

    public async Task RemoveMemberAsync(Caller caller, long userId, CancellationToken ct)
    {
        var m = await db.Memberships.FirstOrDefaultAsync(x => x.WorkspaceId == caller.WorkspaceId && x.UserId == userId, ct)
            ?? throw new NotFoundException($"User {userId}");
        if (m.Role == Role.Admin) await EnsureAnotherAdminAsync(caller.WorkspaceId, userId, ct);
        db.Memberships.Remove(m);
        audit.Record(caller, "user.remove", "user", userId);
        await db.SaveChangesAsync(ct);
    }

    private async Task EnsureAnotherAdminAsync(long ws, long userId, CancellationToken ct)
    {
        if (!await db.Memberships.AnyAsync(x => x.WorkspaceId == ws && x.UserId != userId && x.Role == Role.Admin, ct))
            throw new ConflictException("A workspace keeps at least one admin.");
    }

    public async Task<List<ApiKeyDto>> ListKeysAsync(Caller caller, CancellationToken ct) =>
        (await db.ApiKeys.AsNoTracking().Where(k => k.WorkspaceId == caller.WorkspaceId).OrderBy(k => k.Id).ToListAsync(ct)).Select(k => ToDto(k)).ToList();

    private static ApiKeyDto ToDto(ApiKey k, string? key = null) => new(k.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        k.Name, k.Prefix, k.Role.ToString().ToLowerInvariant(), k.CreatedAt, k.LastUsedAt, k.RevokedAt, key);

    /// <summary>Creates a key; the plaintext is in the answer once and never stored.</summary>
    public async Task<ApiKeyDto> CreateKeyAsync(Caller caller, ApiKeyInput input, CancellationToken ct)
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(input.Name) || input.Name.Length > 100) v.Add("name", "A name of 1 to 100 characters is required.");
        var role = ParseRole(input.Role);
        if (role is null) v.Add("role", "Use viewer, editor, approver or admin.");
        v.ThrowIfInvalid();
        var k = ApiKeys.Create(caller.WorkspaceId, input.Name!.Trim(), role!.Value, caller.UserId, Now, ApiKeys.NewKey(), out var plaintext);
        db.ApiKeys.Add(k);
        await db.SaveChangesAsync(ct);
        audit.Record(caller, "api_key.create", "api_key", k.Id, new { role = k.Role.ToString().ToLowerInvariant() });
        await db.SaveChangesAsync(ct);
        return ToDto(k, plaintext);
    }

    /// <summary>Revokes a key; this node stops accepting it at once, other nodes within the auth cache time.</summary>
    public async Task RevokeKeyAsync(Caller caller, long id, CancellationToken ct)
    {
        var k = await db.ApiKeys.FirstOrDefaultAsync(x => x.Id == id && x.WorkspaceId == caller.WorkspaceId, ct) ?? throw new NotFoundException($"API key {id}");
        k.RevokedAt ??= Now;
        audit.Record(caller, "api_key.revoke", "api_key", id);
        await db.SaveChangesAsync(ct);
        // Found keys are cached briefly by the authentication handler; this node forgets them at once.
        if (cache is Microsoft.Extensions.Caching.Memory.MemoryCache mc) mc.Clear();
    }
}
