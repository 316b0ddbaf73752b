"""Import a billing system's CSV export: accounts, consumers, phones, services, money.

One row is one account's position for one service in one billing period (the format is in
``BILLING_FORMAT`` below and in the README). The file is streamed: a thread parses and validates
rows and feeds valid ones, already normalised, to ``COPY`` into a temporary staging table; SQL
then finds duplicates and applies everything with set-based upserts in ONE transaction.

- Rows that fail validation are skipped and reported with their line number and reason; the
  file's valid rows are applied.
- A file that is not UTF-8 or has an unusable header is refused as a whole: nothing is applied.
- If anything fails while applying, the transaction rolls back and nothing is applied.
- Upserts only write rows whose values differ, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
import threading
import time
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from state.billing_apply import apply_staged
from state.phones import InvalidPhone, normalize_phone

BILLING_FORMAT = """\
UTF-8 text (a BOM is allowed), one header line, `;` as delimiter (`,` is detected from the
header), CSV quoting with `"`. Columns, by header name, in any order:

| column | required | format |
| --- | --- | --- |
| account | yes | 8-12 digits |
| consumer_kind | no | `person` (default) or `organisation` (also `ФЛ`, `ЮЛ`, `ИП`) |
| full_name | yes | consumer's name, up to 300 characters |
| inn | no | 10 or 12 digits |
| city, street, house | yes | address |
| apartment | no | |
| timezone | no | IANA name such as `Asia/Novosibirsk`; empty keeps the current one (new: Europe/Moscow) |
| phone | no | any Russian or international form; stored as E.164; one per row, an account's rows add up |
| service | yes | `electricity`, `heating`, `hot_water`, `cold_water` (the `services` table) |
| service_status | no | `active` (default), `restricted`, `suspended`, `disconnected` |
| period | yes | `YYYY-MM` or `YYYY-MM-DD` (any day: the month is meant) |
| charged | no | money charged for the period, may be negative (recalculation); empty: none |
| paid | no | money paid for the period, >= 0; empty or 0: none |
| balance | no | signed current balance (negative: the consumer owes), default 0 |
| debt, penalty | no | overdue debt and penalty, >= 0, default 0 |
| months_overdue | no | whole months, >= 0, default 0 |

Money: digits with `.` or `,` and at most 2 decimals, optional leading `-`, no thousands separators.
Balance and service status come from the latest period of each account and service in the file
and never overwrite a newer period already in the database. Payments get the external id
`billing:<account>:<service>:<YYYY-MM>`.
"""

COLUMNS = (
    "account",
    "consumer_kind",
    "full_name",
    "inn",
    "city",
    "street",
    "house",
    "apartment",
    "timezone",
    "phone",
    "service",
    "service_status",
    "period",
    "charged",
    "paid",
    "balance",
    "debt",
    "penalty",
    "months_overdue",
)
REQUIRED = frozenset({"account", "full_name", "city", "street", "house", "service", "period"})
KINDS = {
    "person": "person",
    "фл": "person",
    "organisation": "organisation",
    "organization": "organisation",
    "юл": "organisation",
    "ип": "organisation",
}
SERVICE_STATUSES = frozenset({"active", "restricted", "suspended", "disconnected"})
MAX_REPORTED = 1000  # rejected rows listed in detail; all are counted
CHUNK_BYTES = 1 << 20
_MONEY = re.compile(r"-?\d{1,12}(?:[.,]\d{1,2})?")
_PERIOD = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TIMEZONES = frozenset(zoneinfo.available_timezones())


class BillingImportError(Exception):
    """Base of the import's errors."""


class ImportRefused(BillingImportError):
    """The file as a whole is unusable (encoding, header): nothing was applied."""


class ImportFailed(BillingImportError):
    """Applying the file failed; the transaction was rolled back and nothing was applied."""


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    file: str
    rows_read: int = 0
    rows_applied: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    seconds: float = 0.0

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append(Rejection(line, reason))

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


def _lines(raw: Iterator[bytes]) -> Iterator[str]:
    """Decode line by line so that a broken byte is reported with its line number."""
    for number, data in enumerate(raw, 1):
        try:
            yield data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"line {number}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at position "
                f"{exc.start + 1}); the file was not imported"
            ) from None


def _money(value: str, column: str, allow_negative: bool) -> str:
    if not _MONEY.fullmatch(value):
        raise ValueError(f"non-numeric money in {column}")
    if not allow_negative and value.startswith("-"):
        raise ValueError(f"negative {column}")
    return value.replace(",", ".")


def _period(value: str) -> str:
    m = _PERIOD.fullmatch(value)
    if not m:
        raise ValueError("bad period: use YYYY-MM or YYYY-MM-DD")
    year, month = int(m[1]), int(m[2])
    try:
        dt.date(year, month, int(m[3] or 1))
    except ValueError:
        raise ValueError("bad period: no such date") from None
    if not 2000 <= year <= 2100:
        raise ValueError("bad period: year out of range")
    return f"{year:04d}-{month:02d}-01"


def _account_part(f: list[str]) -> str:
    """The account-level columns (the first ten) of a valid row as COPY text, or ValueError."""
    account, kind, name, inn, city, street, house, apt, tz, phone = f
    if not (account.isdigit() and 8 <= len(account) <= 12 and account.isascii()):
        raise ValueError("bad account number: 8-12 digits expected")
    kind = KINDS.get(kind.lower(), "") if kind else "person"
    if not kind:
        raise ValueError("unknown consumer kind")
    if not name or len(name) > 300:
        raise ValueError("missing or too long full name")
    if inn and not (inn.isdigit() and len(inn) in (10, 12)):
        raise ValueError("bad INN: 10 or 12 digits expected")
    if not (city and street and house):
        raise ValueError("missing address (city, street and house are required)")
    if tz and tz not in _TIMEZONES:
        raise ValueError(f"unknown time zone {tz[:40]!r}")
    if phone:
        try:
            phone = normalize_phone(phone)
        except InvalidPhone as exc:
            raise ValueError(f"bad phone: {exc}") from None
    texts = (name, city, street, house, apt)
    if any("\\" in t or "\t" in t or "\n" in t or "\r" in t for t in texts):
        name, city, street, house, apt = (t.translate(_ESCAPES) for t in texts)
    null = "\\N"
    return (
        f"{account}\t{kind}\t{name}\t{inn or null}\t{city}\t{street}\t{house}\t"
        f"{apt or null}\t{tz or null}\t{phone or null}"
    )


def _service_part(f: list[str], services: frozenset[str]) -> str:
    """The per-service columns (the last nine) of a valid row as COPY text, or ValueError."""
    service, s_status, period, charged, paid, balance, debt, penalty, overdue = f
    if service not in services:
        raise ValueError(f"unknown service {service[:40]!r}")
    s_status = s_status or "active"
    if s_status not in SERVICE_STATUSES:
        raise ValueError(f"unknown service status {s_status[:40]!r}")
    period = _period(period)
    charged = _money(charged, "charged", True) if charged else "\\N"
    paid = _money(paid, "paid", False) if paid else "\\N"
    balance = _money(balance, "balance", True) if balance else "0"
    debt = _money(debt, "debt", False) if debt else "0"
    penalty = _money(penalty, "penalty", False) if penalty else "0"
    if overdue and not (overdue.isdigit() and len(overdue) <= 4):
        raise ValueError("bad months_overdue: a whole number >= 0 expected")
    return (
        f"{service}\t{s_status}\t{period}\t{charged}\t{paid}\t{balance}\t{debt}\t"
        f"{penalty}\t{overdue or '0'}\n"
    )


def _parse(
    path: Path, services: frozenset[str], report: ImportReport, put, stop: threading.Event
) -> None:
    """Runs in a thread: validate rows and hand COPY chunks to ``put``; raises ImportRefused."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportRefused(f"{path.name}: cannot be read: {exc.strerror}") from None
    with raw:
        lines = _lines(raw)
        header_line = next(lines, None)
        if header_line is None:
            raise ImportRefused("line 1: the file is empty; a header line is expected")
        delimiter = ";" if ";" in header_line else ","
        header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delimiter))]
        missing = sorted(REQUIRED - set(header))
        if missing:
            raise ImportRefused(f"line 1: header lacks required column(s): {', '.join(missing)}")
        unknown = [h for h in header if h not in COLUMNS]
        if unknown or len(set(header)) != len(header):
            raise ImportRefused(
                f"line 1: unknown or repeated column(s) in the header: "
                f"{', '.join(unknown) or 'repeated names'}"
            )
        order = [header.index(c) if c in header else None for c in COLUMNS]
        width = len(header)
        reader = csv.reader(lines, delimiter=delimiter)
        chunk: list[str] = []
        size = 0
        last_head: list[str] | None = None
        last_text: str | None = None
        last_error = ""
        line = 1
        for fields in reader:
            start, line = line + 1, reader.line_num + 1  # +1: the header was read apart
            if stop.is_set():
                return
            if not fields or fields == [""]:
                continue
            report.rows_read += 1
            if len(fields) != width:
                report.reject(start, f"wrong column count: expected {width}, got {len(fields)}")
                continue
            values = [fields[i].strip() if i is not None else "" for i in order]
            head = values[:10]
            try:
                # An export lists an account's services one after another: validate its
                # account-level columns once.
                if head != last_head:
                    last_text, last_head = None, head
                    last_text = _account_part(head)
                elif last_text is None:
                    raise ValueError(last_error)
                text = f"{start}\t{last_text}\t{_service_part(values[10:], services)}"
            except ValueError as exc:
                if last_text is None:
                    last_error = str(exc)
                report.reject(start, str(exc))
                continue
            chunk.append(text)
            size += len(text)
            if size >= CHUNK_BYTES:
                put("".join(chunk).encode())
                chunk, size = [], 0
        if chunk:
            put("".join(chunk).encode())


async def _staged_chunks(
    path: Path, services: frozenset[str], report: ImportReport
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
            _parse(path, services, report, put, stop)
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


async def import_billing(pool: asyncpg.Pool, path: str | Path) -> ImportReport:
    """Import one billing CSV file; see ``BILLING_FORMAT``. Raises ImportRefused / ImportFailed."""
    path = Path(path)
    report = ImportReport(file=path.name)
    started = time.perf_counter()
    async with pool.acquire() as conn:
        services = frozenset(await conn.fetchval("SELECT array_agg(code) FROM services") or ())
        try:
            async with conn.transaction():
                await apply_staged(conn, _staged_chunks(path, services, report), report)
        except BillingImportError:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise ImportFailed(
                f"{path.name}: applying the file failed and nothing was applied: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    report.seconds = time.perf_counter() - started
    return report
