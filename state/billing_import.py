"""Import a billing system's CSV export: accounts, consumers, phones, services, money.

One row is one account's position for one service in one billing period (the format is
``BILLING_FORMAT`` in state/billing_format.py, and in the README). The file is streamed: a thread
parses and validates rows (state/billing_parse.py) and feeds valid ones, already normalised, to
``COPY`` into a temporary staging table; SQL
then finds duplicates and applies everything with set-based upserts in ONE transaction. A big
file is parsed by two worker processes, in blocks of whole lines handed out and collected in file
order, so the result is the one thread's; a block that turns out to end inside a quoted field
makes the rest of the file go line by line in the thread.

- Rows that fail validation are skipped and reported with their line number and reason; the
  file's valid rows are applied.
- A file that is not UTF-8 or has an unusable header is refused as a whole: nothing is applied.
- If anything fails while applying, the transaction rolls back and nothing is applied.
- Upserts only write rows whose values differ, so importing the same file twice changes nothing.
- First load: when every target table (consumers, accounts, phones, account_phones,
  account_services, balances, charges, payments) is empty, e.g. when migrating from the old
  billing system, the import takes ACCESS EXCLUSIVE locks on all of them for the rest of its
  transaction (nobody can read or write them until it commits or rolls back), drops their
  indexes and unique/primary-key constraints (except the keys foreign keys point at), fills the
  tables with plain inserts and builds every index and constraint again, from the definitions
  read from the catalog, before the commit. A violation found then fails the whole import.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from state.billing_apply import apply_staged
from state.billing_format import (
    BILLING_FORMAT,
    COLUMNS,
    BillingImportError,
    ImportFailed,
    ImportRefused,
    ImportReport,
    Rejection,
)
from state.billing_parse import BLOCK_BYTES, _parse

__all__ = [
    "BILLING_FORMAT",
    "COLUMNS",
    "BillingImportError",
    "ImportFailed",
    "ImportRefused",
    "ImportReport",
    "Rejection",
    "import_billing",
]


async def _staged_chunks(
    path: Path,
    services: frozenset[str],
    report: ImportReport,
    workers: int | None,
    block_bytes: int,
) -> AsyncIterator[bytes]:
    """Bridge the parsing thread to COPY with a small bounded queue (back-pressure)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=4)
    stop = threading.Event()
    done = object()

    def put(item) -> None:
        if stop.is_set():
            return
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:  # wake up now and then to notice that the consumer gave up
            try:
                future.result(timeout=1.0)
                return
            except TimeoutError:
                if stop.is_set():
                    future.cancel()
                    return

    def work() -> None:
        try:
            _parse(path, services, report, put, stop, workers, block_bytes)
            put(done)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, which re-raises it)
            put(exc)

    thread = loop.run_in_executor(None, work)
    try:
        while True:
            item = await queue.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not queue.empty():
            queue.get_nowait()
        await thread


async def import_billing(
    pool: asyncpg.Pool,
    path: str | Path,
    *,
    workers: int | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> ImportReport:
    """Import one billing CSV file; see ``BILLING_FORMAT``. Raises ImportRefused / ImportFailed.

    ``workers``: processes that parse blocks of the file side by side (default: two for a file
    of ``PARALLEL_BYTES`` or more when the machine has two cores, else parsing in one thread).
    """
    path = Path(path)
    report = ImportReport(file=path.name)
    started = time.perf_counter()
    async with pool.acquire() as conn:
        services = frozenset(await conn.fetchval("SELECT array_agg(code) FROM services") or ())
        try:
            async with conn.transaction():
                await apply_staged(
                    conn, _staged_chunks(path, services, report, workers, block_bytes), report
                )
        except BillingImportError:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise ImportFailed(
                f"{path.name}: applying the file failed and nothing was applied: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    report.seconds = time.perf_counter() - started
    return report
