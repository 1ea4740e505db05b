using Herald.Channels.Receipts;
using Herald.Delivery;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Channels;

public sealed class DeliveryReceiptsTests(HeraldApp app) : IClassFixture<HeraldApp>
{
    private Task<ReceiptOutcome> Apply(long ws, string id, ReceiptStatus s, string? code = null) =>
        app.WithScopeAsync(sp => sp.GetRequiredService<DeliveryReceipts>().ApplyAsync(ws, id, s, null, code, code is null ? null : "err", default));

    [Fact]
    public async Task Apply_DeliveredThenRead_MovesForwardAndCountsOnce()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "whatsapp", "+15550001111", "wamid.A1");

        Assert.Equal(ReceiptOutcome.Applied, await Apply(ws.Id, "wamid.A1", ReceiptStatus.Delivered));
        Assert.Equal(ReceiptOutcome.Unchanged, await Apply(ws.Id, "wamid.A1", ReceiptStatus.Delivered));
        Assert.Equal(ReceiptOutcome.Unchanged, await Apply(ws.Id, "wamid.A1", ReceiptStatus.Sent));
        Assert.Equal(ReceiptOutcome.Applied, await Apply(ws.Id, "wamid.A1", ReceiptStatus.Read));
        Assert.Equal(ReceiptOutcome.Unchanged, await Apply(ws.Id, "wamid.A1", ReceiptStatus.Failed, "131026"));

        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal(DeliveryStatus.Read, d.Status);
        Assert.NotNull(d.DeliveredAt);
        Assert.NotNull(d.ReadAt);
        Assert.Null(d.ErrorCode);
        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((1, 1, 1, 0), (run.Sent, run.Delivered, run.Read, run.Failed));
    }

    [Fact]
    public async Task Apply_ReadWithoutDelivered_CountsBothDeliveredAndRead()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "whatsapp", "+15550001112", "wamid.A2");

        await Apply(ws.Id, "wamid.A2", ReceiptStatus.Read);

        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((1, 1, 1), (run.Sent, run.Delivered, run.Read));
    }

    [Fact]
    public async Task Apply_FailedAfterSent_MovesSentToFailedWithErrorCode()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15550001113", "SM-F1");

        Assert.Equal(ReceiptOutcome.Applied, await Apply(ws.Id, "SM-F1", ReceiptStatus.Failed, "30003"));
        Assert.Equal(ReceiptOutcome.Unchanged, await Apply(ws.Id, "SM-F1", ReceiptStatus.Failed, "30003"));
        Assert.Equal(ReceiptOutcome.Unchanged, await Apply(ws.Id, "SM-F1", ReceiptStatus.Delivered));

        var d = await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId);
        Assert.Equal(DeliveryStatus.Failed, d.Status);
        Assert.Equal("30003", d.ErrorCode);
        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((0, 0, 1), (run.Sent, run.Delivered, run.Failed));
    }

    [Fact]
    public async Task Apply_DeliveredForUnknownOutcome_ProvesItWasSent()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15550001114", "SM-U1", DeliveryStatus.Unknown);

        await Apply(ws.Id, "SM-U1", ReceiptStatus.Delivered);

        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal((0, 1, 1), (run.Unknown, run.Sent, run.Delivered));
    }

    [Fact]
    public async Task Apply_OtherWorkspacesMessageId_IsNotFoundAndChangesNothing()
    {
        var a = await app.CreateWorkspaceAsync("A");
        var b = await app.CreateWorkspaceAsync("B");
        var seeded = await ChannelTestData.SeedDeliveryAsync(a, "sms", "+15550001115", "SM-X1");

        Assert.Equal(ReceiptOutcome.NotFound, await Apply(b.Id, "SM-X1", ReceiptStatus.Delivered));
        Assert.Equal(DeliveryStatus.Sent, (await ChannelTestData.DeliveryAsync(app, seeded.DeliveryId)).Status);
    }

    [Fact]
    public async Task Apply_ConcurrentDuplicateCallbacks_CountOnce()
    {
        var ws = await app.CreateWorkspaceAsync();
        var seeded = await ChannelTestData.SeedDeliveryAsync(ws, "sms", "+15550001116", "SM-C1");

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Apply(ws.Id, "SM-C1", ReceiptStatus.Delivered)));

        var run = await ChannelTestData.RunAsync(app, seeded.RunId);
        Assert.Equal(1, run.Delivered);
    }
}
