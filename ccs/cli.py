"""The ``ccs`` command: serve, demo, migrate, seed, import-billing, local services."""
from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path

import click
from pydantic import SecretStr

from ccs.localenv import LocalPostgres, LocalRedis, LocalServiceError
from ccs.settings import Settings

log = logging.getLogger("ccs")


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


def _local(settings: Settings) -> tuple[LocalPostgres, LocalRedis]:
    data_dir = settings.local.data_dir
    return LocalPostgres(data_dir / "pg"), LocalRedis(data_dir / "redis")


def resolve_services(settings: Settings) -> Settings:
    """Start the embedded PostgreSQL/Redis for every service the settings leave unset."""
    pg, rd = _local(settings)
    updates = {}
    try:
        if not settings.postgres.dsn:
            updates["postgres"] = settings.postgres.model_copy(update={"dsn": pg.start()})
        if not settings.redis.url:
            updates["redis"] = settings.redis.model_copy(update={"url": rd.start()})
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings.model_copy(update=updates)


@click.group()
def main() -> None:
    """Contact-center server for energy and utility companies."""


@main.group()
def local() -> None:
    """Embedded PostgreSQL and Redis in the data folder (CCS_LOCAL__DATA_DIR)."""


@local.command("start")
def local_start() -> None:
    settings = resolve_services(_settings())
    click.echo(f"postgres: {settings.postgres.dsn}\nredis:    {settings.redis.url}")


@local.command("stop")
def local_stop() -> None:
    pg, rd = _local(_settings())
    pg.stop()
    rd.stop()
    click.echo("stopped")


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from state.db import migrate_sync

    settings = resolve_services(_settings())
    applied = migrate_sync(settings.postgres.dsn)
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


@main.command()
@click.option("--accounts", default=2000, show_default=True, help="Number of accounts to generate.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed.")
def seed(accounts: int, seed_value: int) -> None:
    """Load generated demo data (deterministic from the seed)."""
    from state.db import migrate_sync

    settings = resolve_services(_settings())
    migrate_sync(settings.postgres.dsn)
    from state.generator import GeneratorError

    try:
        report = asyncio.run(_seed(settings.postgres.dsn, accounts, seed_value))
    except GeneratorError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"loaded {report.accounts} accounts in {report.seconds:.1f}s: "
               + ", ".join(f"{name} {count}" for name, count in report.rows.items()))


async def _seed(dsn: str, accounts: int, seed_value: int):
    from state.db import create_pool
    from state.generator import generate

    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        return await generate(pool, accounts=accounts, seed=seed_value)
    finally:
        await pool.close()


@main.command("import-billing")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_billing_cmd(path: Path) -> None:
    """Import a billing CSV export (format in README). Exit 1: some rows rejected; 2: refused."""
    from state.billing_import import BillingImportError
    from state.db import migrate_sync

    settings = resolve_services(_settings())
    migrate_sync(settings.postgres.dsn)
    try:
        report = asyncio.run(_import(settings.postgres.dsn, path))
    except BillingImportError as exc:
        click.echo(f"{path}: refused, nothing applied: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"{path}: {report.rows_read} rows read, {report.rows_applied} applied, "
        f"{report.rejected_count} rejected in {report.seconds:.1f}s"
    )
    for name, count in sorted(report.changes.items()):
        click.echo(f"  {name}: {count} row(s) changed")
    for rejection in report.rejected:
        click.echo(f"  line {rejection.line}: {rejection.reason}", err=True)
    if report.rejected_count > len(report.rejected):
        click.echo(f"  ... and {report.rejected_count - len(report.rejected)} more", err=True)
    if report.rejected_count:
        sys.exit(1)


async def _import(dsn: str, path: Path):
    from state.billing_import import import_billing
    from state.db import create_pool

    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        return await import_billing(pool, path)
    finally:
        await pool.close()


@main.command()
def serve() -> None:
    """Run the server against the configured PostgreSQL, Redis and Asterisk."""
    from aiohttp import web

    from agent_api.access_log import RedactedAccessLogger
    from agent_api.app import ConfigurationError, create_app

    settings = resolve_services(_settings())
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    web.run_app(app, host=settings.http.host, port=settings.http.port,
                access_log_class=RedactedAccessLogger)


@main.command()
def demo() -> None:
    """Server + embedded databases + demo data + the PBX simulator when no Asterisk is set."""
    from ccs.demo import run_demo

    settings = _settings()
    if settings.auth.secret_key is None:
        settings = settings.model_copy(
            update={"auth": settings.auth.model_copy(update={"secret_key": SecretStr(secrets.token_urlsafe(32))})}
        )
    pg, rd = _local(settings)
    already_running = [s for s in (pg, rd) if s.is_running()]
    try:
        run_demo(resolve_services(settings))
    finally:
        # Stop what this run started; services someone started before (`ccs local start`) stay.
        for service in (rd, pg):
            if service not in already_running:
                service.stop()


@main.command("settings")
def settings_cmd() -> None:
    """Print the table of every setting (as in README.md)."""
    from ccs.settings import settings_table

    click.echo(settings_table())
