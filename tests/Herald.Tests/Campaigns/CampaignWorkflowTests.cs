using System.Net;
using System.Text.Json;
using Herald.Auth;
using Herald.Campaigns;
using Herald.Tests.Infrastructure;
using Herald.Tests.Scheduling;
using Microsoft.EntityFrameworkCore;

namespace Herald.Tests.Campaigns;

public sealed class CampaignWorkflowTests(SchedulerApp app) : IClassFixture<SchedulerApp>
{
    private async Task<(TestWorkspace Ws, string Id)> DraftAsync(bool approvalRequired = true, Role author = Role.Editor, object? schedule = null)
    {
        var ws = await app.CreateWorkspaceAsync("wf", s => s.ApprovalRequired = approvalRequired);
        var body = await (await ws.Client(author).PostJsonAsync("/api/v1/campaigns", CampaignBodies.Sms(schedule: schedule))).ExpectAsync(HttpStatusCode.Created);
        return (ws, body.GetProperty("id").GetString()!);
    }

    private static async Task<JsonElement> PostAsync(TestWorkspace ws, Role role, string url, HttpStatusCode expected, object? body = null) =>
        await (await ws.Client(role).PostJsonAsync(url, body ?? new { })).ExpectAsync(expected);

    [Fact]
    public async Task Create_ValidCampaign_AnswersTheCampaignAsDraft()
    {
        var ws = await app.CreateWorkspaceAsync();
        var body = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new
        {
            name = "Diwali VIP Sale", channels = new[] { "whatsapp", "sms" }, channelMode = "fallback",
            content = new
            {
                whatsapp = new { templateName = "vip_sale", language = "en", parameters = new[] { "{{ contact.firstName }}", "70% OFF" } },
                sms = new { body = "{name}, 70% off" },
            },
            audience = new { filter = new { totalSpent = new { gte = 5000 } } },
            schedule = new { type = "once", at = "2026-12-01T09:00:00", timezone = "Asia/Kolkata" },
            sendWindow = new { days = new[] { "mon", "tue" }, start = "09:00", end = "18:00", timezone = "recipient" },
            variants = new[] { new { name = "A", weight = 50, content = new { } }, new { name = "B", weight = 50, content = new { } } },
            rateLimit = new { perSecond = 29 }, testMode = true,
        })).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("draft", body.GetProperty("status").GetString());
        Assert.Equal("whatsapp", body.GetProperty("channel").GetString());
        Assert.Equal("fallback", body.GetProperty("channelMode").GetString());
        Assert.Equal(29, body.GetProperty("rateLimit").GetProperty("perSecond").GetInt32());
        Assert.Equal("Asia/Kolkata", body.GetProperty("schedule").GetProperty("timezone").GetString());
        Assert.Equal(2, body.GetProperty("variants").GetArrayLength());

        var list = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/campaigns?status=draft&channel=sms")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        var none = await (await ws.Client(Role.Viewer).GetAsync("/api/v1/campaigns?channel=email")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(0, none.GetProperty("total").GetInt32());
    }

    public static TheoryData<string, string> BadCampaigns() => new()
    {
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"schedule":{"type":"once","at":"2026-12-01T09:00:00","timezone":"Mars/Base"}}""", "schedule.timezone" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"schedule":{"type":"cron","expression":"0 25 * * *","timezone":"UTC"}}""", "schedule.expression" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"schedule":{"type":"once","at":"2026-01-01T09:00:00","timezone":"UTC"}}""", "schedule.at" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"schedule":{"type":"recurring","frequency":"daily","interval":0,"startAt":"2026-12-01T09:00:00"}}""", "schedule.interval" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"schedule":{"type":"recurring","frequency":"daily","startAt":"2026-12-01T09:00:00","endAt":"2026-11-30T09:00:00"}}""", "schedule.endAt" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{}}""", "audience" },
        { """{"name":"x","channel":"email","content":{"sms":{"body":"hi"}},"audience":{"all":true}}""", "content.email" },
        { """{"name":"x","channel":"email","content":{"email":{"subject":"s","html":"{% if x %}"}},"audience":{"all":true}}""", "content.email.html" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"endAt":"2026-01-01T00:00:00Z"}""", "endAt" },
        { """{"name":"x","channel":"pigeon","content":{"sms":{"body":"hi"}},"audience":{"all":true}}""", "channels" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"sendWindow":{"start":"09:00","end":"18:00","timezone":"Nope/Nope"}}""", "sendWindow.timezone" },
        { """{"name":"x","channel":"sms","content":{"sms":{"body":"hi"}},"audience":{"all":true},"templateId":999999}""", "templateId" },
    };

    [Theory]
    [MemberData(nameof(BadCampaigns))]
    public async Task Create_Invalid_AnswersProblemNamingTheField(string json, string field)
    {
        var ws = await app.CreateWorkspaceAsync();
        var r = await ws.Client(Role.Editor).PostAsync("/api/v1/campaigns", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        var body = await r.ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out var messages), body.ToString());
        Assert.False(string.IsNullOrWhiteSpace(messages[0].GetString()));
        Assert.Equal(0, await app.WithDbAsync(db => db.Set<Campaign>().CountAsync(c => c.WorkspaceId == ws.Id)));
    }

    [Fact]
    public async Task Approve_ByTheAuthor_IsForbiddenAndAnotherApproverSucceeds()
    {
        var (ws, id) = await DraftAsync(author: Role.Approver);
        var submitted = await PostAsync(ws, Role.Approver, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.OK);
        Assert.Equal("pending_approval", submitted.GetProperty("status").GetString());
        await PostAsync(ws, Role.Approver, $"/api/v1/campaigns/{id}/approve", HttpStatusCode.Forbidden);
        await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/approve", HttpStatusCode.Forbidden); // role too low
        var approved = await PostAsync(ws, Role.Admin, $"/api/v1/campaigns/{id}/approve", HttpStatusCode.OK);
        Assert.Equal("approved", approved.GetProperty("status").GetString());
        Assert.Equal(app.Now, approved.GetProperty("nextRunAt").GetDateTime().ToUniversalTime(), TimeSpan.FromSeconds(1));
        var runs = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{id}/runs")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("scheduled", runs.GetProperty("items")[0].GetProperty("status").GetString());
        var audit = await (await ws.Client().GetAsync($"/api/v1/audit?targetType=campaign&targetId={id}")).ExpectAsync(HttpStatusCode.OK);
        var actions = audit.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("action").GetString()).ToList();
        Assert.Contains("campaign.submit", actions);
        Assert.Contains("campaign.approve", actions);
    }

    [Fact]
    public async Task Submit_ByViewer_IsForbidden()
    {
        var (ws, id) = await DraftAsync();
        await PostAsync(ws, Role.Viewer, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.Forbidden);
        var c = await (await ws.Client(Role.Viewer).GetAsync($"/api/v1/campaigns/{id}")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("draft", c.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Submit_WhenApprovalIsOff_ApprovesAtOnce()
    {
        var (ws, id) = await DraftAsync(approvalRequired: false);
        var c = await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.OK);
        Assert.Equal("approved", c.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Reject_WithReason_ReturnsToDraftWithTheReason()
    {
        var (ws, id) = await DraftAsync();
        await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.OK);
        await PostAsync(ws, Role.Approver, $"/api/v1/campaigns/{id}/reject", HttpStatusCode.BadRequest, new { reason = " " });
        var c = await PostAsync(ws, Role.Approver, $"/api/v1/campaigns/{id}/reject", HttpStatusCode.OK, new { reason = "Discount too high" });
        Assert.Equal("draft", c.GetProperty("status").GetString());
        Assert.Equal("Discount too high", c.GetProperty("rejectionReason").GetString());
        // Editable again.
        await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/campaigns/{id}", new { name = "Spring sale v2" })).ExpectAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("approve", Role.Approver)]
    [InlineData("reject", Role.Approver)]
    [InlineData("send", Role.Editor)]
    [InlineData("pause", Role.Editor)]
    [InlineData("resume", Role.Editor)]
    public async Task Transition_IllegalFromDraft_Answers409WithCurrentState(string action, Role role)
    {
        var (ws, id) = await DraftAsync();
        var body = await PostAsync(ws, role, $"/api/v1/campaigns/{id}/{action}", HttpStatusCode.Conflict, action == "reject" ? new { reason = "no" } : null);
        Assert.Equal("draft", body.GetProperty("currentState").GetString());
    }

    [Fact]
    public async Task EditAndDelete_AfterSubmit_Answer409()
    {
        var (ws, id) = await DraftAsync();
        await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.OK);
        var patch = await (await ws.Client(Role.Editor).PatchJsonAsync($"/api/v1/campaigns/{id}", new { name = "sneaky" })).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("pending_approval", patch.GetProperty("currentState").GetString());
        var del = await (await ws.Client(Role.Editor).DeleteAsync($"/api/v1/campaigns/{id}")).ExpectAsync(HttpStatusCode.Conflict);
        Assert.Equal("pending_approval", del.GetProperty("currentState").GetString());
        await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task PauseResumeCancel_MoveTheActiveRunsWithTheCampaign()
    {
        var (ws, id) = await DraftAsync(approvalRequired: false);
        await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/submit", HttpStatusCode.OK);
        var sent = await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/send", HttpStatusCode.Accepted);
        Assert.Equal("running", sent.GetProperty("campaign").GetProperty("status").GetString());
        var runId = long.Parse(sent.GetProperty("run").GetProperty("id").GetString()!);
        Assert.Contains(app.Starter.Started, s => s.RunId == runId);
        Task<string> RunStatus() => app.WithDbAsync(db => db.Set<CampaignRun>().Where(r => r.Id == runId).Select(r => r.Status).FirstAsync());
        Assert.Equal("running", await RunStatus());
        // The now-schedule's own run was replaced by the send: only one run exists.
        Assert.Equal(1, await app.WithDbAsync(db => db.Set<CampaignRun>().CountAsync(r => r.CampaignId == long.Parse(id))));

        Assert.Equal("paused", (await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/pause", HttpStatusCode.OK)).GetProperty("status").GetString());
        Assert.Equal("paused", await RunStatus());
        Assert.Equal("running", (await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/resume", HttpStatusCode.OK)).GetProperty("status").GetString());
        Assert.Equal("running", await RunStatus());
        Assert.Equal("cancelled", (await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/cancel", HttpStatusCode.OK)).GetProperty("status").GetString());
        Assert.Equal("cancelled", await RunStatus());
        var again = await PostAsync(ws, Role.Editor, $"/api/v1/campaigns/{id}/resume", HttpStatusCode.Conflict);
        Assert.Equal("cancelled", again.GetProperty("currentState").GetString());
    }

    [Fact]
    public async Task Campaign_FromTemplate_UsesItsContentAndChecksItsChannel()
    {
        var ws = await app.CreateWorkspaceAsync();
        var t = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/templates", new { name = "welcome", channel = "email", email = new { subject = "Hi {name}", html = "<p>Hello</p>" } }))
            .ExpectAsync(HttpStatusCode.Created);
        var tid = t.GetProperty("id").GetString();
        await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new { name = "c", channel = "email", templateId = tid, audience = new { all = true } }))
            .ExpectAsync(HttpStatusCode.Created);
        var wrong = await (await ws.Client(Role.Editor).PostJsonAsync("/api/v1/campaigns", new { name = "c", channel = "sms", templateId = tid, audience = new { all = true } }))
            .ExpectAsync(HttpStatusCode.BadRequest);
        Assert.True(wrong.GetProperty("errors").TryGetProperty("templateId", out _));
        await (await ws.Client(Role.Editor).DeleteAsync($"/api/v1/templates/{tid}")).ExpectAsync(HttpStatusCode.Conflict);
    }
}
