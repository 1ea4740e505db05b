using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Herald.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class TrackingAndLeaseIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_sending_lease_until",
                table: "delivery");

            migrationBuilder.AddColumn<DateTime>(
                name: "ab_decide_at",
                table: "campaign_run",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "clicks_total",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<double>(
                name: "conversion_value",
                table: "campaign_run",
                type: "REAL",
                precision: 18,
                scale: 2,
                nullable: false,
                defaultValue: 0.0);

            migrationBuilder.AddColumn<int>(
                name: "conversions",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "machine_clicks",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "machine_opens",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "opens_total",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "ab_test",
                table: "campaign",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "tracking",
                table: "campaign",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "delivery_event",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<long>(type: "INTEGER", nullable: false),
                    delivery_id = table.Column<long>(type: "INTEGER", nullable: false),
                    contact_id = table.Column<long>(type: "INTEGER", nullable: false),
                    campaign_id = table.Column<long>(type: "INTEGER", nullable: true),
                    run_id = table.Column<long>(type: "INTEGER", nullable: true),
                    type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    link_id = table.Column<long>(type: "INTEGER", nullable: true),
                    value = table.Column<double>(type: "REAL", precision: 18, scale: 2, nullable: true),
                    currency = table.Column<string>(type: "TEXT", maxLength: 3, nullable: true),
                    machine = table.Column<bool>(type: "INTEGER", nullable: false),
                    detail = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_delivery_event", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "run_minute_stat",
                columns: table => new
                {
                    run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    minute = table.Column<DateTime>(type: "TEXT", nullable: false),
                    sent = table.Column<int>(type: "INTEGER", nullable: false),
                    delivered = table.Column<int>(type: "INTEGER", nullable: false),
                    failed = table.Column<int>(type: "INTEGER", nullable: false),
                    opened = table.Column<int>(type: "INTEGER", nullable: false),
                    clicked = table.Column<int>(type: "INTEGER", nullable: false),
                    converted = table.Column<int>(type: "INTEGER", nullable: false),
                    unsubscribed = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_run_minute_stat", x => new { x.run_id, x.minute });
                    table.ForeignKey(
                        name: "fk_run_minute_stat_campaign_run_run_id",
                        column: x => x.run_id,
                        principalTable: "campaign_run",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "run_variant_stat",
                columns: table => new
                {
                    run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    variant = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    total = table.Column<int>(type: "INTEGER", nullable: false),
                    skipped = table.Column<int>(type: "INTEGER", nullable: false),
                    sent = table.Column<int>(type: "INTEGER", nullable: false),
                    delivered = table.Column<int>(type: "INTEGER", nullable: false),
                    failed = table.Column<int>(type: "INTEGER", nullable: false),
                    bounced = table.Column<int>(type: "INTEGER", nullable: false),
                    opened = table.Column<int>(type: "INTEGER", nullable: false),
                    clicked = table.Column<int>(type: "INTEGER", nullable: false),
                    converted = table.Column<int>(type: "INTEGER", nullable: false),
                    unsubscribed = table.Column<int>(type: "INTEGER", nullable: false),
                    conversion_value = table.Column<double>(type: "REAL", precision: 18, scale: 2, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_run_variant_stat", x => new { x.run_id, x.variant });
                    table.ForeignKey(
                        name: "fk_run_variant_stat_campaign_run_run_id",
                        column: x => x.run_id,
                        principalTable: "campaign_run",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "tracked_link",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<long>(type: "INTEGER", nullable: false),
                    campaign_id = table.Column<long>(type: "INTEGER", nullable: false),
                    url_hash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    url = table.Column<string>(type: "TEXT", maxLength: 8192, nullable: false),
                    clicks = table.Column<int>(type: "INTEGER", nullable: false),
                    unique_clicks = table.Column<int>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tracked_link", x => x.id);
                    table.ForeignKey(
                        name: "fk_tracked_link_campaign_campaign_id",
                        column: x => x.campaign_id,
                        principalTable: "campaign",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "tracking_key",
                columns: table => new
                {
                    id = table.Column<int>(type: "INTEGER", nullable: false),
                    protected_key = table.Column<string>(type: "TEXT", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tracking_key", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_delivery_lease_until",
                table: "delivery",
                column: "lease_until",
                filter: "lease_until IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_campaign_run_ab_decide_at",
                table: "campaign_run",
                column: "ab_decide_at",
                filter: "ab_decide_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_event_contact_id_at",
                table: "delivery_event",
                columns: new[] { "contact_id", "at" });

            migrationBuilder.CreateIndex(
                name: "ix_delivery_event_delivery_id_type",
                table: "delivery_event",
                columns: new[] { "delivery_id", "type" });

            migrationBuilder.CreateIndex(
                name: "ix_tracked_link_campaign_id_url_hash",
                table: "tracked_link",
                columns: new[] { "campaign_id", "url_hash" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "delivery_event");

            migrationBuilder.DropTable(
                name: "run_minute_stat");

            migrationBuilder.DropTable(
                name: "run_variant_stat");

            migrationBuilder.DropTable(
                name: "tracked_link");

            migrationBuilder.DropTable(
                name: "tracking_key");

            migrationBuilder.DropIndex(
                name: "ix_delivery_lease_until",
                table: "delivery");

            migrationBuilder.DropIndex(
                name: "ix_campaign_run_ab_decide_at",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "ab_decide_at",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "clicks_total",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "conversion_value",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "conversions",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "machine_clicks",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "machine_opens",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "opens_total",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "ab_test",
                table: "campaign");

            migrationBuilder.DropColumn(
                name: "tracking",
                table: "campaign");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_sending_lease_until",
                table: "delivery",
                column: "lease_until",
                filter: "status = 'sending'");
        }
    }
}
