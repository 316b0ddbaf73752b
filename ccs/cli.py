"""The ``ccs`` command: serve, demo, migrate, seed, import-billing, local services."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from pydantic import SecretStr, ValidationError

from ccs.localenv import LocalPostgres, LocalRedis, LocalServiceError
from ccs.logs import configure_logging
from ccs.settings import Settings

log = logging.getLogger("ccs")
SECRET_KEY_MIN_BYTES = 32  # HS256 wants a key as long as its hash (RFC 7518 3.2)


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(
                f"CCS_{'__'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
        ) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _require_secret_key(settings: Settings) -> None:
    key = settings.auth.secret_key
    make_one = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if key is None:
        raise click.ClickException(f"CCS_AUTH__SECRET_KEY is not set; {make_one}")
    size = len(key.get_secret_value().encode())
    if size < SECRET_KEY_MIN_BYTES:
        raise click.ClickException(
            f"CCS_AUTH__SECRET_KEY is {size} bytes long; it must be at least "
            f"{SECRET_KEY_MIN_BYTES} bytes; {make_one}"
        )


def _local(settings: Settings) -> tuple[LocalPostgres, LocalRedis]:
    data_dir = settings.local.data_dir
    try:
        return LocalPostgres(data_dir / "pg"), LocalRedis(data_dir / "redis")
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from None


def resolve_services(settings: Settings) -> Settings:
    """Start the embedded PostgreSQL/Redis for every service the settings leave unset, and
    leave them running (`ccs local start`)."""
    pg, rd = _local(settings)
    updates = {}
    try:
        if not settings.postgres.dsn:
            updates["postgres"] = settings.postgres.model_copy(update={"dsn": pg.start()})
        if not settings.redis.url:
            updates["redis"] = settings.redis.model_copy(update={"url": rd.start()})
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from None
    return settings.model_copy(update=updates)


@contextlib.contextmanager
def embedded_services(settings: Settings, *, redis: bool = True) -> Iterator[Settings]:
    """The settings, with the embedded PostgreSQL (and Redis) for what they leave unset.

    What this starts is stopped on exit, and also when this process dies, even by kill -9 (see
    ccs.service_guard); servers that already ran (`ccs local start`) stay.
    """
    from ccs.service_guard import ServiceGuard

    pg, rd = _local(settings)
    wanted = [("postgres", "dsn", pg)] if not settings.postgres.dsn else []
    if redis and not settings.redis.url:
        wanted.append(("redis", "url", rd))
    guard = None
    try:
        updates = {}
        for section, field, service in wanted:
            if not service.is_running():
                guard = guard or ServiceGuard()
                guard.watch(service)
            url = service.start()
            updates[section] = getattr(settings, section).model_copy(update={field: url})
        yield settings.model_copy(update=updates)
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if guard is not None:
            guard.close()


@click.group()
def main() -> None:
    """Contact-center server for energy and utility companies."""


@main.group()
def local() -> None:
    """Embedded PostgreSQL and Redis in the data folder (CCS_LOCAL__DATA_DIR)."""


@local.command("start")
def local_start() -> None:
    """Start them and leave them running (other commands then use them and leave them on)."""
    settings = resolve_services(_settings())
    click.echo(f"postgres: {settings.postgres.dsn}\nredis:    {settings.redis.url}")


@local.command("stop")
def local_stop() -> None:
    pg, rd = _local(_settings())
    try:
        pg.stop()
        rd.stop()
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("stopped")


@main.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from state.db import migrate_sync

    with embedded_services(_settings(), redis=False) as settings:
        applied = migrate_sync(settings.postgres.dsn)
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")


@main.command()
@click.option("--accounts", default=2000, show_default=True, help="Number of accounts to generate.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed.")
def seed(accounts: int, seed_value: int) -> None:
    """Load generated demo data (deterministic from the seed)."""
    from state.db import migrate_sync

    from state.generator import GeneratorError

    with embedded_services(_settings(), redis=False) as settings:
        migrate_sync(settings.postgres.dsn)
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
    """Import a billing CSV export (format in README).

    Exit 0: every row applied; 1: some rows rejected (the others applied); 2: refused, nothing
    applied; 3: could not run (a start-up fault, e.g. PostgreSQL unavailable), nothing applied.
    """
    from state.billing_import import BillingImportError
    from state.db import migrate_sync

    try:
        with embedded_services(_settings(), redis=False) as settings:
            try:
                migrate_sync(settings.postgres.dsn)
            except Exception as exc:  # noqa: BLE001 (reported in one line, exit 3)
                raise click.ClickException(f"cannot prepare the database: {exc}") from exc
            try:
                report = asyncio.run(_import(settings.postgres.dsn, path))
            except BillingImportError as exc:
                click.echo(f"{path}: refused, nothing applied: {exc}", err=True)
                sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"{path}: not imported: {exc.format_message()}", err=True)
        sys.exit(3)
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
    """Run the server against the configured PostgreSQL, Redis and Asterisk (embedded
    PostgreSQL/Redis for those unset: stopped again when the server stops)."""
    from ccs.app import ConfigurationError, create_app
    from ccs.serving import StartupError, event_loop_factory, serve_until_stopped

    settings = _settings()
    _require_secret_key(settings)
    with embedded_services(settings) as settings:
        try:
            app = create_app(settings)
            with asyncio.Runner(loop_factory=event_loop_factory(settings)) as runner:
                runner.run(serve_until_stopped(settings, app, lambda: log.info(
                    "serving on http://%s:%d", settings.http.host, settings.http.port)))
        except (ConfigurationError, StartupError) as exc:
            raise click.ClickException(str(exc)) from exc


@main.command()
def demo() -> None:
    """Server + embedded databases + demo data + the PBX simulator when no Asterisk is set."""
    from ccs.demo import demo_secret_key, run_demo
    from ccs.serving import StartupError

    settings = _settings()
    if settings.auth.secret_key is None:
        key = SecretStr(demo_secret_key(settings))
        settings = settings.model_copy(
            update={"auth": settings.auth.model_copy(update={"secret_key": key})}
        )
    _require_secret_key(settings)
    # What this run starts stops with it; what `ccs local start` started before stays.
    with embedded_services(settings) as settings:
        try:
            run_demo(settings)
        except StartupError as exc:
            raise click.ClickException(str(exc)) from exc


@main.command("settings")
def settings_cmd() -> None:
    """Print the table of every setting (as in README.md)."""
    from ccs.settings import settings_table

    click.echo(settings_table())


@main.group()
def sounds() -> None:
    """The recordings Asterisk plays (`python -m ivr.sounds` builds them)."""


@sounds.command("missing-streets")
@click.option("--sounds-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The sound set to look in [default: CCS_CAMPAIGNS__SOUNDS_DIR].")
def missing_streets(sounds_dir: Path | None) -> None:
    """The accounts' streets with no recording (robocalls say only their house number): the
    accounts on each, the file to record (<studio>/<file>.wav) and how billing writes it."""
    with embedded_services(_settings(), redis=False) as settings:
        folder = sounds_dir or settings.campaigns.sounds_dir
        found = asyncio.run(_missing_streets(settings.postgres.dsn, folder))
    for street in found:
        click.echo(f"{street.accounts}\t{street.file}\t{' | '.join(street.spellings)}")
    click.echo(f"{len(found)} street(s) of {sum(s.accounts for s in found)} account(s) have no "
               f"recording in {folder}", err=True)


async def _missing_streets(dsn: str, folder: Path):
    import asyncpg

    from ivr.sounds import streets

    try:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT street, count(*) AS n FROM accounts GROUP BY street")
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"cannot read the accounts' streets: {exc}") from None
    return await asyncio.to_thread(streets.missing, [(r["street"], r["n"]) for r in rows], folder)
