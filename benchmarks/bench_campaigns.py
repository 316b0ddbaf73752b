"""Robocall campaigns: the pacer's sustained originate rate (rules checked per call) and its CPU
per call, reconciliation after a crash with 1,000 calls in flight, target selection.

    .venv/bin/python -m benchmarks bench_campaigns [--quick] [--calls 6000] [--rate 400]
        [--inflight 1000] [--select] [--accounts 2500000]

Parts: PostgreSQL is the benchmark cluster (a fresh database ``bench_campaigns``); the PBX
simulator runs in a process of its own (real TCP, time scale 1: callees answer after 1 s and
hear a 1.4 s message), so this process holds only the server's side: the CTI service (AMI link,
tracker, event bus), the pacer (claims with the contact rules per call, Originates) and the
outcome recorder.

1. Rate: one agentless campaign of ``--calls`` attempts (a consumer each, within calling hours
   on the campaigns' clock), ``calls_per_second`` = ``--rate``, 5000 channels. Originates sent
   per second over the busy part (the first and last 10 % cut), end to end (claim -> every
   outcome written), and this process's CPU seconds per call (user + system, the whole server
   side: tracker, pacer, recorder, asyncpg).
2. Reconciliation: ``--inflight`` calls with a 20 s message are dialled; the server "crashes"
   (its tasks and AMI link dropped, rows left in dialing/answered); 12 s later, when the half
   that hangs up half-way has ended, a fresh pacer's reconciliation settles them: its time,
   and how many were live / read back from AstDB.
3. Selection (``--select``; needs the generated ``--accounts`` data set, which it makes on
   the first run): ``campaigns.selection`` count and account ids of a debtors filter.

Each figure is printed beside its floor, measured in the same run:

- rate: a bare loop of the same Originate actions (``dialer.originate_action``: Async, the
  same channel, context and variables) over one bare AMI connection (no tracker, no rules, no
  PostgreSQL) to the same simulator, ``FLOOR_WINDOW`` actions outstanding, after the
  campaign's server side is stopped;
- reconciliation: right after ``settle``, over a bare AMI connection, one CoreShowChannels
  round trip (the same live channels) and a DBGet of every in-flight try the channel list
  does not hold (the same keys, ``DBGET_WINDOW`` side by side as the reconciler does);
- selection: ``SELECT count(*), sum(debt), max(months_overdue) FROM balances WHERE debt > 0``,
  the debtors' rows and the columns the filters aggregate, through the partial index, without
  the grouping: the scan neither filter can avoid (both sum debts per account, so every
  debtor row is read whatever the thresholds); the rest is grouping, the join to accounts
  and the account checks. Beside it, the same count without the status and phone checks
  (``has_phone`` and ``account_status`` unset) splits the rest.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import database, generated_database, machine, start_postgres  # noqa: E402

FLOOR_WINDOW = 50  # bare Originates outstanding at once: the simulator, not the loop, bounds it
DBGET_WINDOW = 50  # as campaigns.reconcile.Reconciler.settle
RATE_DIGITS = ["1", "4", "4", "4", "6", "3"]  # the callees' last digits in the rate part
START = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)  # a working Wednesday, noon in Moscow
SECRET = "bench-secret"


def parse(args: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_campaigns")
    p.add_argument("--quick", action="store_true", help="small sizes (a shared machine)")
    p.add_argument("--calls", type=int, default=6000, help="attempts of the rate campaign")
    p.add_argument("--rate", type=float, default=400.0, help="the campaign's calls_per_second")
    p.add_argument("--inflight", type=int, default=1000, help="calls in flight at the crash")
    p.add_argument("--select", action="store_true", help="time the target selection")
    p.add_argument("--parts", default="rate,reconcile", help="rate, reconcile (comma list)")
    p.add_argument("--accounts", type=int, default=2_500_000, help="selection data set size")
    p.add_argument("--data-dir", default=None, help="benchmark PostgreSQL cluster folder")
    p.add_argument("--seed", type=int, default=1)
    opts = p.parse_known_args(args)[0]
    if opts.quick:
        opts.calls = min(opts.calls, 1500)
    return opts


# -- the PBX, a process of its own ---------------------------------------------------------------
def sim_process(conn, listen: float) -> None:
    asyncio.run(_sim(conn, listen))


async def _sim(conn, listen: float) -> None:
    from cti.simulator import Simulator
    from cti.simulator.pbx import CalleeBehaviour
    from cti.simulator.presets import recorded_config

    config = recorded_config()
    config.default_callee = CalleeBehaviour(answer_after=1.0, listen=listen)
    sim = Simulator(config, secret=SECRET, time_scale=1.0)
    await sim.start()
    conn.send(sim.port)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # any message: stop
    await sim.stop()


def start_sim(listen: float) -> tuple[multiprocessing.Process, object, int]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=sim_process, args=(child, listen), daemon=True)
    proc.start()
    port = parent.recv()
    return proc, parent, port


# -- the server's side ---------------------------------------------------------------------------
def clock(anchor: float):
    def now() -> datetime:
        return datetime.fromtimestamp(START.timestamp() + time.time() - anchor, timezone.utc)
    return now


def ami(port: int):
    from pydantic import SecretStr

    from cti.settings import AmiSettings
    return AmiSettings(host="127.0.0.1", port=port, username="ccs", secret=SecretStr(SECRET),
                       action_timeout=10.0, originate_timeout=60.0)


async def server_side(pool, port: int, settings, anchor: float):
    from campaigns.pacer import Pacer
    from campaigns.rules import Rules
    from cti.bus import EventBus
    from cti.service import CtiService

    bus = EventBus(maxsize=500_000)
    cti = CtiService(ami(port), bus.publish)
    await cti.start()
    await cti.connection.wait_ready(30)
    pacer = Pacer(pool, cti, bus, await Rules.build(settings), settings, now=clock(anchor))
    return cti, pacer


async def bare_link(port: int):
    """One AMI connection with no tracker or bus behind it: the floors' link."""
    from cti.actions import AmiActions
    from cti.connection import AmiConnection

    conn = AmiConnection(ami(port), on_event=lambda message: None)
    await conn.start()
    await conn.wait_ready(30)
    return conn, AmiActions(conn)


async def originate_floor(pool, port: int, cid: int, n: int, digits: list[str],
                          settings, rng: random.Random) -> tuple[float, int]:
    """Originates/s of a bare loop of ``n`` of the dialer's own Originate actions."""
    from campaigns import dialer
    from campaigns.attempts import Claimed, load_campaign

    async with pool.acquire() as conn:
        campaign = await load_campaign(conn, cid)
    actions = [dialer.originate_action(
        Claimed(attempt_id=10**9 + i, campaign_id=cid, try_no=1,
                phone=f"+79{rng.randrange(10**8):08d}{digits[i % len(digits)]}",
                action_id=f"ccs-robocall-{10**9 + i}-1", params={}), campaign, settings)
        for i in range(n)]
    link, _ = await bare_link(port)
    try:
        queue = iter(actions)
        failed = 0

        async def worker() -> None:
            nonlocal failed
            for action in queue:
                answer = await link.send(action)
                failed += not answer.success

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(FLOOR_WINDOW)))
        took = time.perf_counter() - t0
    finally:
        await link.stop()
    return n / took, failed


async def reconcile_floor(port: int, rows) -> tuple[float, int, float, int, int]:
    """A bare CoreShowChannels round trip, then a bare DBGet of each try it does not hold:
    (CoreShowChannels s, channels, DBGet s, DBGets, entries found)."""
    from campaigns.reconcile import DB_FAMILY, attempt_of

    link, actions = await bare_link(port)
    try:
        t0 = time.perf_counter()
        channels = await actions.core_show_channels()
        show = time.perf_counter() - t0
        live = {a for ch in channels if (a := attempt_of(ch)) is not None}
        keys = [f"{r['campaign_id']}/{r['id']}-{r['tries']}" for r in rows if r["id"] not in live]
        gate = asyncio.Semaphore(DBGET_WINDOW)

        async def get(key: str) -> bool:
            async with gate:
                answer = await link.send({"Action": "DBGet", "Family": DB_FAMILY, "Key": key},
                                         as_list=None)
            messages = answer if isinstance(answer, list) else [answer]
            return any(m.get("Event") == "DBGetResponse" for m in messages)

        t1 = time.perf_counter()
        found = sum(await asyncio.gather(*(get(k) for k in keys)))
        dbget = time.perf_counter() - t1
    finally:
        await link.stop()
    return show, len(channels), dbget, len(keys), found


async def make_campaign(pool, n: int, digits: list[str], pacing: dict, rng: random.Random) -> int:
    from campaigns.models import Campaign

    spec = Campaign.model_validate({
        "name": "bench", "type": "routine_notice",
        "message": [{"kind": "prompt", "name": "routine-notice"}],
        "pacing": pacing, "options": {"confirm_key": "1", "opt_out_key": "9"},
        "retries": {name: {"delay_minutes": 1, "max_retries": 0} for name in (
            "busy", "no_answer", "congestion", "failed", "machine", "hung_up")},
    }).model_dump(mode="json")
    async with pool.acquire() as conn, conn.transaction():
        cid = await conn.fetchval(
            "INSERT INTO campaigns (name, type, state, spec) VALUES ('bench', 'routine_notice', "
            "'created', $1::text::jsonb) RETURNING id", json.dumps(spec))
        consumers = await conn.fetch(
            "INSERT INTO consumers (kind, full_name) SELECT 'person', 'bench' "
            "FROM generate_series(1, $1) RETURNING id", n)
        tag = rng.randrange(10**6)
        rows = [(str(10**10 + tag * 10**4 + i)[-11:], c["id"]) for i, c in enumerate(consumers)]
        accounts = await conn.fetch(
            "INSERT INTO accounts (number, consumer_id, city, street, house) "
            "SELECT n, c, 'Бенч', 'Ленина', '1' FROM unnest($1::text[], $2::bigint[]) AS t(n, c) "
            "RETURNING id, consumer_id", [r[0] for r in rows], [r[1] for r in rows])
        phones = [f"+79{rng.randrange(10**8):08d}{digits[i % len(digits)]}"
                  for i in range(len(accounts))]
        await conn.execute(
            "INSERT INTO campaign_attempts (campaign_id, account_id, consumer_id, phones) "
            "SELECT $1, a, c, ARRAY[p] FROM unnest($2::bigint[], $3::bigint[], $4::text[]) "
            "AS t(a, c, p)", cid, [a["id"] for a in accounts],
            [a["consumer_id"] for a in accounts], phones)
        await conn.execute("UPDATE campaigns SET state = 'running' WHERE id = $1", cid)
    return cid


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def rate_part(pool, opts, settings) -> None:
    proc, pipe, port = start_sim(listen=1.4)
    try:
        rate, cid = await rate_campaign(pool, opts, settings, port)
        floor, failed = await originate_floor(pool, port, cid, opts.calls, RATE_DIGITS, settings,
                                              random.Random(opts.seed + 7))
        print(f"rate floor: a bare loop of {opts.calls} of the dialer's Originates (Async, "
              f"{FLOOR_WINDOW} outstanding, one AMI link, no rules/PostgreSQL/tracker): "
              f"{floor:.0f} originates/s ({failed} refused); pacer {rate:.0f} originates/s = "
              f"{rate / floor:.2f} of the floor (campaign calls_per_second {opts.rate:.0f})",
              flush=True)
    finally:
        pipe.send("stop")
        proc.join(10)


async def rate_campaign(pool, opts, settings, port: int) -> tuple[float, int]:
    """The pacer's campaign on the simulator at ``port``: (sustained originates/s, its id)."""
    anchor = time.time()
    rng = random.Random(opts.seed)
    cti, pacer = await server_side(pool, port, settings, anchor)
    try:
        cid = await make_campaign(pool, opts.calls, RATE_DIGITS,
                                  {"mode": "agentless", "max_channels": 5000,
                                   "calls_per_second": min(opts.rate, 1000)}, rng)
        stamps: list[float] = []
        cpu0, t0 = cpu(), time.perf_counter()
        await pacer.start()
        seen = 0
        while True:
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            while seen < pacer.originates:
                stamps.append(now)
                seen += 1
            state = await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", cid)
            if state == "finished" or now - t0 > 600:
                break
        total = time.perf_counter() - t0
        used = cpu() - cpu0
        left = await pool.fetchval(
            "SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1 AND state <> 'done'",
            cid)
        tries = await pool.fetchval(
            "SELECT sum(tries) FROM campaign_attempts WHERE campaign_id = $1", cid)
        refused = pacer.runs[cid].refused if cid in pacer.runs else {}
        cut = len(stamps) // 10
        busy = stamps[cut:len(stamps) - cut]
        rate = (len(busy) - 1) / (busy[-1] - busy[0]) if len(busy) > 1 else 0.0
        print(f"rate: {opts.calls} attempts, {tries} dials, campaign calls_per_second "
              f"{opts.rate:.0f}: sustained {rate:.0f} originates/s (busy 80 %), "
              f"campaign done in {total:.1f} s ({tries / total:.0f} dials/s end to end), "
              f"not done: {left}", flush=True)
        print(f"cpu: {used:.1f} s of this process (server side) = {used / tries * 1000:.2f} ms "
              f"per call; refused by rules: {refused}; "
              f"events dropped: {pacer.recorder.dropped}", flush=True)
        return rate, cid
    finally:
        await pacer.stop()
        await cti.stop()


async def reconcile_part(pool, opts, settings) -> None:
    from campaigns.attempts import CampaignLookup
    from campaigns.reconcile import Reconciler

    proc, pipe, port = start_sim(listen=20.0)
    anchor = time.time()
    rng = random.Random(opts.seed + 1)
    cti, pacer = await server_side(pool, port, settings, anchor)
    try:
        n = opts.inflight
        cid = await make_campaign(pool, n, ["4", "5"], {
            "mode": "agentless", "max_channels": 5000, "calls_per_second": 1000}, rng)
        await pacer.start()
        t0 = time.perf_counter()
        while await pool.fetchval(
                "SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1 "
                "AND state = 'queued'", cid) > 0 and time.perf_counter() - t0 < 120:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # every call answered (1 s ring), none ended (10 s or 20 s)
        inflight = await pool.fetchval(
            "SELECT count(*) FROM campaign_attempts WHERE campaign_id = $1 "
            "AND state IN ('dialing', 'answered')", cid)
        # The crash: no clean stop of anything, the rows stay as they are.
        pacer._task.cancel()
        for task in pacer.recorder._tasks:
            task.cancel()
        await cti.stop()
        await asyncio.sleep(12.0)  # the "5" callees (10 s) hang up meanwhile; "4" (20 s) live
        cti2, _ = await server_side(pool, port, settings, anchor)
        reconciler = Reconciler(pool, cti2, CampaignLookup(),
                                grace=settings.untraced_grace_seconds, now=clock(anchor))
        rows = await pool.fetch(
            "SELECT id, campaign_id, tries FROM campaign_attempts WHERE campaign_id = $1 "
            "AND state IN ('dialing', 'answered')", cid)  # the floor's keys, as settle sees them
        t1 = time.perf_counter()
        report = await reconciler.settle(all_inflight=True)
        took = time.perf_counter() - t1
        await cti2.stop()
        show, channels, dbget, gets, found = await reconcile_floor(port, rows)
        print(f"reconcile: {inflight} calls in flight at the crash; after 12 s a new server "
              f"settled them in {took:.2f} s ({report.live} live, {report.from_astdb} from "
              f"AstDB, {report.no_trace} without trace; outcomes {report.outcomes})",
              flush=True)
        print(f"reconcile floor: bare CoreShowChannels {show:.3f} s ({channels} channels) + "
              f"bare DBGet x{gets} ({DBGET_WINDOW} side by side, {found} found) {dbget:.3f} s "
              f"= {show + dbget:.3f} s; reconciliation {took:.2f} s = "
              f"{took / (show + dbget):.1f}x the floor", flush=True)
    finally:
        pipe.send("stop")
        proc.join(10)


async def debtors_scan(conn) -> tuple[int, float]:
    """The selection's floor: every debtor's balance row (the partial index the debt filters
    read), under the selection's own settings (read-only, no JIT)."""
    from campaigns.selection import NO_JIT

    async with conn.transaction(readonly=True):
        await conn.execute(NO_JIT)
        t0 = time.perf_counter()
        # The columns the aggregate reads (an index-only count(*) would skip the heap).
        row = await conn.fetchrow("SELECT count(*), sum(b.debt), max(b.months_overdue) "
                                  "FROM balances b WHERE b.debt > 0")
        return row[0], time.perf_counter() - t0


async def select_part(opts) -> None:
    from campaigns import selection
    from campaigns.models import TargetFilter
    from state.db import create_pool

    server = start_postgres(opts.data_dir)
    dsn = await generated_database(server, opts.accounts, opts.seed)
    pool = await create_pool(dsn, min_size=1, max_size=2, command_timeout=600)
    try:
        # The generated data's debts are coarse: the second filter is the one nearest to
        # 100,000 of 2.5 M (5.7 % of the 2,000-account set).
        for filt in (TargetFilter(min_debt=1000, min_months_overdue=2),
                     TargetFilter(min_debt=10000, min_months_overdue=3)):
            async with pool.acquire() as conn:
                t0 = time.perf_counter()
                count = await selection.count(conn, filt)
                t1 = time.perf_counter()
                ids = await selection.account_ids(conn, filt)
                t2 = time.perf_counter()
                debtors, scan = await debtors_scan(conn)
                # The same query without the account checks (status, a phone): what the debt
                # aggregate and the join to accounts cost on their own.
                t3 = time.perf_counter()
                unchecked = await selection.count(
                    conn, filt.model_copy(update={"has_phone": None, "account_status": None}))
                t4 = time.perf_counter()
            print(f"selection of {opts.accounts} accounts, {filt.model_dump(exclude_defaults=True)}"
                  f": {count} targets; count {t1 - t0:.2f} s, ids {t2 - t1:.2f} s "
                  f"({len(ids)} ids); floor: the debtors scan {scan:.2f} s ({debtors} balance "
                  f"rows; count {(t1 - t0) / scan:.1f}x, ids {(t2 - t1) / scan:.1f}x); "
                  f"without the status and phone checks: count {t4 - t3:.2f} s ({unchecked})",
                  flush=True)
    finally:
        await pool.close()


async def main(args: list[str]) -> None:
    from campaigns.settings import CampaignSettings
    from state.db import create_pool

    opts = parse(args)
    print(f"machine: {machine()}", flush=True)
    server = start_postgres(opts.data_dir)
    dsn = await database(server, "bench_campaigns", fresh=True)
    pool = await create_pool(dsn, min_size=2, max_size=10, command_timeout=60)
    settings = CampaignSettings(ring_seconds=30, pacer_tick=0.02, campaigns_refresh=0.5)
    try:
        if "rate" in opts.parts:
            await rate_part(pool, opts, settings)
        if "reconcile" in opts.parts:
            await reconcile_part(pool, opts, settings)
    finally:
        await pool.close()
    if opts.select:
        await select_part(opts)
