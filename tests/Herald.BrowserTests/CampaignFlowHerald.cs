using Microsoft.AspNetCore.Hosting;

namespace Herald.BrowserTests;

/// <summary>
/// <see cref="BrowserHerald"/> with the scheduler and delivery workers running, so campaigns really send (to the
/// sandbox outbox). Batches of two: the engine publishes progress per batch, so a campaign page moves in visible steps.
/// </summary>
public sealed class CampaignFlowHerald : BrowserHerald
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Herald:Roles", "web,scheduler,worker");
        builder.UseSetting("Herald:Delivery:BatchSize", "2");
    }
}
