using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Herald.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ClaimCursorAndStartingLease : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_pending_next_attempt_at",
                table: "delivery");

            migrationBuilder.AddColumn<DateTime>(
                name: "lease_until",
                table: "campaign_run",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery",
                columns: new[] { "next_attempt_at", "id" },
                filter: "status = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_pending_next_attempt_at_id",
                table: "delivery");

            migrationBuilder.DropColumn(
                name: "lease_until",
                table: "campaign_run");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_pending_next_attempt_at",
                table: "delivery",
                column: "next_attempt_at",
                filter: "status = 'pending'");
        }
    }
}
