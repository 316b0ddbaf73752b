"""Parsing and validating billing CSV rows into COPY text for the staging table.

Rows are validated one by one (a precompiled fast path for the common shape, the full checks
otherwise); a big file is parsed by two worker processes in blocks of whole lines, handed out and
collected in file order so line numbers and rejections equal the one-thread result.

Whatever the bytes, the outcome is rows, line-numbered rejections or one ImportRefused: a record
the csv module gives up on (a stray CR, a field past its size limit) or one that spans lines
without making a row (a stray quote) rejects its first line, and the lines after it are read
again as rows of their own.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import io
import itertools
import multiprocessing
import os
import re
import signal
import sys
import threading
import zoneinfo
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path


from state.phones import InvalidPhone, normalize_phone
from state.billing_format import (
    COLUMNS,
    KINDS,
    REQUIRED,
    SERVICE_STATUSES,
    ImportRefused,
    ImportReport,
)

CHUNK_BYTES = 1 << 20
MAX_HEADER_BYTES = 64 << 10  # the 19 column names take < 300 bytes
BLOCK_BYTES = 4 << 20  # a parsing worker's share of the file at a time
PARALLEL_BYTES = 64 << 20  # smaller files are parsed in one thread (workers take time to start)
_END = ["\x1f\x1eend of block\x1e\x1f"]
_END_LINE = _END[0] + "\n"
_MONEY = re.compile(r"-?\d{1,12}(?:[.,]\d{1,2})?")
_PERIOD = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TIMEZONES = frozenset(zoneinfo.available_timezones())
NULL = "\\N"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _lines(raw: Iterator[bytes], first: int) -> Iterator[str]:
    """Decode line by line so that a broken byte is reported with its line number."""
    for number, data in enumerate(raw, first):
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(number, data, exc) from None


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


def _fast_service_pattern(services: frozenset[str]) -> re.Pattern[str]:
    """The usual shape of the per-service columns joined by tabs, in ASCII only.

    It accepts a subset of what ``_service_part`` accepts (a day in the period, non-ASCII digits
    and anything odd are left to it), so rows it matches would come out of ``_service_part``
    the same; the rest take the slow path, which also words the reasons.
    """
    money = r"[0-9]{1,12}(?:[.,][0-9]{1,2})?"
    return re.compile(
        rf"({'|'.join(map(re.escape, sorted(services, key=len, reverse=True)))})\t"
        rf"({'|'.join(sorted(SERVICE_STATUSES))}|)\t"
        rf"(20[0-9][0-9]|2100)-(0[1-9]|1[0-2])\t"
        rf"(-?{money}|)\t({money}|)\t(-?{money}|)\t({money}|)\t({money}|)\t([0-9]{{1,4}}|)"
    )


def _fast_service_part(match: re.Match[str]) -> str:
    service, status, year, month, charged, paid, balance, debt, penalty, overdue = match.groups()
    text = (
        f"{service}\t{status or 'active'}\t{year}-{month}-01\t{charged or NULL}\t{paid or NULL}\t"
        f"{balance or '0'}\t{debt or '0'}\t{penalty or '0'}\t{overdue or '0'}\n"
    )
    return text.replace(",", ".") if "," in text else text


@dataclass(frozen=True)
class _Layout:
    """What the header says about the rows (picklable: parsing workers get it)."""

    delimiter: str
    order: tuple[int | None, ...]
    width: int
    services: frozenset[str]


def _header(line: str, services: frozenset[str]) -> _Layout:
    delimiter = ";" if ";" in line else ","
    if "\r" in line.removesuffix("\n").removesuffix("\r"):
        raise ImportRefused(
            "line 1: the header holds a carriage return (CR) that does not end the line: old "
            "CR-only line ends, or a stray CR; save the file with LF or CRLF line ends"
        )
    try:
        header = [h.strip().lower() for h in next(csv.reader([line], delimiter=delimiter))]
    except csv.Error as exc:
        raise ImportRefused(f"line 1: the header is not readable as CSV: {exc}") from None
    missing = sorted(REQUIRED - set(header))
    if missing:
        raise ImportRefused(f"line 1: header lacks required column(s): {', '.join(missing)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or len(set(header)) != len(header):
        raise ImportRefused(
            f"line 1: unknown or repeated column(s) in the header: "
            f"{', '.join(unknown) or 'repeated names'}"
        )
    order = tuple(header.index(c) if c in header else None for c in COLUMNS)
    return _Layout(delimiter, order, len(header), services)


def _parse_lines(
    lines: Iterable[str],
    line: int,
    layout: _Layout,
    report: ImportReport,
    emit,
    stop=None,
    end_marker: bool = False,
) -> tuple[int, int]:
    """Validate the rows in ``lines`` (the first follows line ``line``), hand COPY text to
    ``emit`` in chunks. Returns the number of the last line read and, with ``end_marker``, the
    line where a record that is exactly ``_END`` ended: block parsing appends one to learn
    whether the block ended outside a quoted field (then it is the last record)."""
    order, width, services = layout.order, layout.width, layout.services
    in_order = order == tuple(range(len(COLUMNS)))
    fast_service = _fast_service_pattern(services).fullmatch
    record: list[str] = []  # the lines of the record being read, to read again after an error
    source = iter(lines)
    reader = csv.reader(_taped(source, record), delimiter=layout.delimiter)
    chunk: list[str] = []
    size = 0
    last_head: list[str] | None = None
    last_text: str | None = None
    last_error = ""
    staged_text = None  # the account part of the last staged row
    first, end = line, 0
    while True:
        record.clear()
        start = line + 1
        try:
            fields = next(reader)
            line = first + reader.line_num
            reason = None
        except StopIteration:
            break
        except csv.Error as exc:  # a stray CR, a field past the csv module's size limit
            reason = _csv_error_reason(exc)
            line = start + len(record) - 1
            report.rows_read += 1
        else:
            if stop is not None and stop.is_set():
                return line, end
            if not fields or fields == [""]:
                continue
            if end_marker and fields == _END:
                end = line
                continue
            report.rows_read += 1
            if len(fields) != width:
                reason = f"wrong column count: expected {width}, got {len(fields)}"
                if len(record) > 1:
                    reason += (
                        f" in a record over lines {start}-{line} (a stray quote?); the lines "
                        "after the first were read again as rows"
                    )
        if reason is not None:
            report.reject(start, reason)
            if len(record) > 1:
                # Reject only the first line of a record that spans lines and makes no row
                # (a stray quote must not swallow the rows after it): read the rest again.
                if end_marker and _END_LINE in record:
                    return line, 0  # the record runs past the block: the block is not clean
                again = record[1:]
                record.clear()
                reader = csv.reader(
                    _taped(itertools.chain(again, source), record), delimiter=layout.delimiter
                )
                first = line = start
            continue
        if in_order:
            values = list(map(str.strip, fields))
        else:
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
            fast = fast_service("\t".join(values[10:]))
            service_text = (
                _fast_service_part(fast) if fast else _service_part(values[10:], services)
            )
            # Rows that repeat the previous staged row's account part (account, consumer,
            # address, phone) are marked, so that SQL reads only the first of each run for
            # accounts and phones.
            run_start = "f" if last_text is staged_text else "t"
            staged_text = last_text
            text = f"{start}\t{run_start}\t{last_text}\t{service_text}"
        except ValueError as exc:
            if last_text is None:
                last_error = str(exc)
            report.reject(start, str(exc))
            continue
        chunk.append(text)
        size += len(text)
        if size >= CHUNK_BYTES:
            emit("".join(chunk).encode())
            chunk, size = [], 0
    if chunk:
        emit("".join(chunk).encode())
    return line, end


def _taped(lines: Iterator[str], record: list[str]) -> Iterator[str]:
    for text in lines:
        record.append(text)
        yield text


def _csv_error_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "new-line" in text:
        return (
            "a carriage return (CR) inside an unquoted field: a stray CR, or old CR-only line "
            "ends; the line was not read"
        )
    if "field limit" in text:
        return (
            f"a field longer than {csv.field_size_limit()} characters (a stray quote that "
            "is never closed?)"
        )
    return f"not readable as CSV: {text}"


def _not_utf8(number: int, data: bytes, exc: UnicodeDecodeError) -> ImportRefused:
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    number += data.count(b"\n", 0, exc.start)
    return ImportRefused(
        f"line {number}: not valid UTF-8 (byte "
        f"0x{data[exc.start]:02x} at position {exc.start - line_start + 1}); "
        "the file was not imported"
    )


def _parse_block(block: bytes, line: int, layout: _Layout) -> tuple[bytes, ImportReport, bool]:
    """In a worker process: the rows of ``block`` (whole lines after line ``line``) as COPY
    text, their counts and rejections, and whether the block ended outside a quoted field."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(line + 1, block, exc) from None
    report = ImportReport(file="")
    out: list[bytes] = []
    last, end = _parse_lines(
        io.StringIO(text + _END_LINE, newline="\n"),
        line,
        layout,
        report,
        out.append,
        end_marker=True,
    )
    clean = end == last == line + block.count(b"\n") + 1
    return b"".join(out), report, clean


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when the importing process dies, even by
    SIGKILL (a worker blocked on its task queue would otherwise wait forever). Linux only.

    PR_SET_PDEATHSIG fires when the parent *thread* ends: the workers are spawned from the
    thread that parses, which outlives the pool."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    # Ctrl-C reaches the whole process group: the importing process handles it and ends the
    # pool; a worker's own KeyboardInterrupt would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _blocks(raw, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Whole-line blocks of ``raw`` with their byte offsets."""
    offset, carry = raw.tell(), b""
    while block := raw.read(block_bytes):
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield offset, data[:cut]
            offset += cut
        carry = data[cut:]
    if carry:
        yield offset, carry


def _parse_parallel(
    raw, line: int, layout: _Layout, report: ImportReport, put, stop, workers: int, block_bytes: int
) -> tuple[int, int] | None:
    """Parse blocks in worker processes, in file order. Returns None when done, or the byte
    offset and line number to go on from line by line: a block that ended inside a quoted
    field (a quoted line break across the cut) cannot be parsed apart."""
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    # No future is ever cancelled: on Python < 3.11.4 (Debian 12 has 3.11.2) shutdown(wait=True)
    # hangs forever once a queued future was cancelled (CPython gh-94440). On an early return
    # (a block cut inside quotes, a refusal, the consumer gave up) the pool's exit waits for the
    # at most 2 * workers blocks still queued instead; their results are dropped.
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque = deque()
        blocks = _blocks(raw, block_bytes)
        while True:
            while len(pending) < 2 * workers and (item := next(blocks, None)) is not None:
                offset, block = item
                pending.append((offset, line, pool.submit(_parse_block, block, line, layout)))
                line += block.count(b"\n")
            if not pending or stop.is_set():
                return None
            offset, before, future = pending.popleft()
            data, part, clean = future.result()
            if not clean:
                return offset, before
            report.rows_read += part.rows_read
            for rejection in part.rejected:
                report.reject(rejection.line, rejection.reason)
            report.rejected_count += part.rejected_count - len(part.rejected)
            if data:
                put(data)


def _parse(
    path: Path,
    services: frozenset[str],
    report: ImportReport,
    put,
    stop: threading.Event,
    workers: int | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> None:
    """Runs in a thread: validate rows and hand COPY chunks to ``put``; raises ImportRefused."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportRefused(f"{path.name}: cannot be read: {exc.strerror}") from None
    with raw:
        first = raw.readline(MAX_HEADER_BYTES + 1)
        if not first:
            raise ImportRefused("line 1: the file is empty; a header line is expected")
        if len(first) > MAX_HEADER_BYTES:
            raise ImportRefused(
                f"line 1: no line end in the first {MAX_HEADER_BYTES} bytes, so no header line "
                "(old CR-only line ends?); save the file with LF or CRLF line ends"
            )
        try:
            layout = _header(first.decode("utf-8-sig"), services)
        except UnicodeDecodeError as exc:
            raise _not_utf8(1, first, exc) from None
        line = 1
        if workers is None:
            big = os.fstat(raw.fileno()).st_size >= PARALLEL_BYTES
            workers = min(2, os.cpu_count() or 1) if big else 0
        if workers > 1:
            rest = _parse_parallel(raw, line, layout, report, put, stop, workers, block_bytes)
            if rest is None:
                return
            offset, line = rest
            raw.seek(offset)
        _parse_lines(_lines(raw, line + 1), line, layout, report, put, stop)
