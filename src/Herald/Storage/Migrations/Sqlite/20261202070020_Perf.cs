using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Herald.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Perf : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_sending_lease_until",
                table: "delivery");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_lease_until",
                table: "delivery",
                column: "lease_until",
                filter: "lease_until IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_delivery_lease_until",
                table: "delivery");

            migrationBuilder.CreateIndex(
                name: "ix_delivery_sending_lease_until",
                table: "delivery",
                column: "lease_until",
                filter: "status = 'sending'");
        }
    }
}
