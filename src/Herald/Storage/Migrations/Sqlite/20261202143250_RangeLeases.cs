using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Herald.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RangeLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery");

            migrationBuilder.AddColumn<bool>(
                name: "first_pass",
                table: "delivery",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "materialized_through",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<bool>(
                name: "materializing",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "range_cursor",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "range_last",
                table: "campaign_run",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "delivery_lease",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    run_id = table.Column<long>(type: "INTEGER", nullable: false),
                    owner = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    lease_until = table.Column<DateTime>(type: "TEXT", nullable: false),
                    first_id = table.Column<long>(type: "INTEGER", nullable: false),
                    last_id = table.Column<long>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_delivery_lease", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery",
                columns: new[] { "next_attempt_at", "id" },
                filter: "status = 'pending' AND NOT first_pass");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "delivery_lease");

            migrationBuilder.DropIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery");

            migrationBuilder.DropColumn(
                name: "first_pass",
                table: "delivery");

            migrationBuilder.DropColumn(
                name: "materialized_through",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "materializing",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "range_cursor",
                table: "campaign_run");

            migrationBuilder.DropColumn(
                name: "range_last",
                table: "campaign_run");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery",
                columns: new[] { "next_attempt_at", "id" },
                filter: "status = 'pending'");
        }
    }
}
