using System.Text.Json;
using Herald.Auth;
using Herald.Channels;
using Herald.Common;
using Herald.Templates;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Templates;

/// <summary>The dashboard editor's live preview: unsaved content rendered as a saved template would be.</summary>
public sealed class TemplateServiceTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    [Fact]
    public async Task PreviewAsync_UnsavedSmsForSampleContact_RendersLikeTheRenderEndpoint()
    {
        var ws = await app.CreateWorkspaceAsync("Acme Stores");
        var content = new ChannelContent { Sms = new SmsContent { Body = "Hi {{ contact.firstName }} from {{ workspace.name }}" } };
        var data = JsonSerializer.SerializeToElement(new { contact = new { firstName = "Ravi" } });

        var preview = await app.WithScopeAsync(sp => sp.GetRequiredService<TemplateService>()
            .PreviewAsync(ws.Caller(Role.Viewer), ChannelNames.Sms, content, new RenderInput { Data = data }, default));

        Assert.Equal("Hi Ravi from Acme Stores", preview.Rendered.Body);
        Assert.Equal(0, await app.WithScopeAsync(async sp => (await sp.GetRequiredService<TemplateService>()
            .ListAsync(ws.Caller(), null, null, PageRequest.From(1, 10), default)).Total));
    }

    [Fact]
    public async Task PreviewAsync_SyntaxErrorOnSecondLine_NamesTheFieldLineAndColumn()
    {
        var ws = await app.CreateWorkspaceAsync();
        var content = new ChannelContent { Email = new EmailContent { Subject = "ok", Html = "<p>Hi</p>\n<p>{% if %}</p>" } };

        var e = await Assert.ThrowsAsync<ValidationFailedException>(() => app.WithScopeAsync(sp => sp.GetRequiredService<TemplateService>()
            .PreviewAsync(ws.Caller(), ChannelNames.Email, content, new RenderInput(), default)));

        Assert.Matches(@"^Template syntax error at line 2, column \d+", Assert.Single(e.Errors["email.html"]));
    }
}
