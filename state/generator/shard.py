"""Build one shard of accounts as PostgreSQL COPY text, one bytes blob per table.

Pure CPU work with no I/O: it runs in worker processes for big loads. Per-row work is kept cheap:
weighted choices are lookups into precomputed tables indexed by ``random()``, and dates are
ordinals turned into text through a per-shard cache.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from functools import lru_cache

from . import pools
from .params import COLUMNS, METER_SLOTS, PHONE_SLOTS, SHARD_SIZE, GenParams, Permutation
from .people import Names, inn10, inn12

NULL = "\\N"
MOBILE_CODES = "0235678"  # +790x..+798x; +791x is kept free for the fixed demo phones
TARIFF_KOP = {"electricity": 650, "heating": 250000, "hot_water": 23000, "cold_water": 4500}
VOLUME = {"electricity": (90, 420), "heating": (1, 3), "hot_water": (1, 6), "cold_water": (2, 9)}
SERVICE_SHARE = {"electricity": 0.97, "heating": 0.5, "hot_water": 0.55, "cold_water": 0.7}
METER_SHARE = {"electricity": 0.95, "heating": 0.08, "hot_water": 0.8, "cold_water": 0.8}
METER_LETTER = {"electricity": "E", "heating": "T", "hot_water": "H", "cold_water": "C"}
VERIFY_YEARS = {"electricity": 16, "heating": 4, "hot_water": 6, "cold_water": 6}
SOURCES = ("ivr", "ivr", "cabinet", "cabinet", "cabinet", "agent", "controller", "file")
PAY_CHANNELS = ("bank", "bank", "bank", "cabinet", "cabinet", "post", "terminal")


def weighted(pairs, size: int = 1000) -> tuple:
    """A lookup table: ``table[int(random() * len(table))]`` is a weighted choice."""
    total = sum(w for _, w in pairs)
    out: list = []
    for value, w in pairs:
        out.extend([value] * max(1, round(size * w / total)))
    return tuple(out)


def poisson_table(mean: float, size: int = 4096) -> tuple[int, ...]:
    out: list[int] = []
    k, p, cdf = 0, math.exp(-mean), 0.0
    while len(out) < size and k < 60:
        cdf += p
        out.extend([k] * (round(cdf * size) - len(out)))
        k += 1
        p *= mean / k
    out.extend([k] * (size - len(out)))
    return tuple(out)


CITY_TABLE = weighted([(c, c[2]) for c in pools.CITIES])
STREETS = {c: pools.STREETS_COMMON + pools.STREETS_BY_CITY.get(c, ()) for c, *_ in pools.CITIES}
HOUSE_SUFFIX = weighted([("", 85), ("к1", 4), ("к2", 3), ("А", 4), ("Б", 2), ("/2", 2)])
OVERDUE = weighted(
    [
        (1, 40),
        (2, 20),
        (3, 8),
        (4, 7),
        (5, 5),
        (6, 4),
        (8, 4),
        (10, 3),
        (12, 3),
        (18, 3),
        (24, 2),
        (36, 1),
    ]
)
TOPICS = weighted([(t, t[2]) for t in pools.APPEAL_TOPICS])
CHANNELS = weighted(pools.APPEAL_CHANNELS)
PRIORITY = weighted([("low", 10), ("normal", 70), ("high", 15), ("urgent", 5)])
ZONES = weighted([(("total",), 70), (("day", "night"), 25), (("day", "night", "peak"), 5)])
ZONE_SHARE = {"total": 1.0, "day": 0.7, "night": 0.3, "peak": 0.25}


def house_text(r: random.Random) -> str:
    n = 1 + int(r.random() ** 2 * 150)
    return f"{n}{HOUSE_SUFFIX[int(r.random() * len(HOUSE_SUFFIX))]}"


def money(kop: int) -> str:
    sign = "-" if kop < 0 else ""
    kop = abs(kop)
    return f"{sign}{kop // 100}.{kop % 100:02d}"


@lru_cache(maxsize=8192)
def day(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat()


def stamp(ordinal: int, minute_of_day: int) -> str:
    return f"{day(ordinal)} {minute_of_day // 60:02d}:{minute_of_day % 60:02d}:00+00"


def build_shard(params: GenParams, shard_no: int) -> dict[str, bytes]:
    """Rows of every table for accounts ``shard_no * SHARD_SIZE ..``, as COPY text."""
    r = random.Random(params.seed * 1_000_003 + shard_no)
    rand = r.random
    names = Names(r)
    out: dict[str, list[str]] = {t: [] for t in COLUMNS}
    consumers, accounts, phones = out["consumers"], out["accounts"], out["phones"]
    account_phones, acc_services, balances = (
        out["account_phones"],
        out["account_services"],
        out["balances"],
    )
    charges, payments, meters = out["charges"], out["payments"], out["meters"]
    readings, appeals = out["readings"], out["appeals"]

    seed, bases = params.seed, params.bases
    number_perm = Permutation(10**8, seed, 1)
    mobile_perm = Permutation(10**8, seed, 2)
    home_perm = Permutation(10**7, seed, 3)
    serial_perm = Permutation(10**9, seed, 4)
    today = params.today.toordinal()
    periods = params.periods()
    period_text = [p.isoformat() for p in periods]
    last_period = period_text[-1]
    appeal_counts = poisson_table(params.appeals_per_account)
    updated = stamp(today - 1, 3 * 60)

    start = shard_no * SHARD_SIZE
    stop = min(start + SHARD_SIZE, params.accounts)
    prev_consumer = prev_phone = None
    prev_phone_uses = 0
    for i in range(start, stop):
        account_id = bases.accounts + i + 1
        city, tz, _, area_code, prefix = CITY_TABLE[int(rand() * len(CITY_TABLE))]
        streets = STREETS[city]
        street = streets[int(rand() * len(streets))]
        house = house_text(r)
        opened = today - 30 - int(rand() * 7300)

        # Consumer: a few people hold a second account (a dacha, a parent's flat).
        person = rand() < 0.93
        if person and prev_consumer is not None and rand() < 0.03:
            consumer_id = prev_consumer
        else:
            consumer_id = bases.consumers + i + 1
            if person:
                full_name, inn = names.person(), NULL
            else:
                form = names.org_form()
                if form == "ИП":
                    full_name, inn = f"ИП {names.person()}", inn12(r)
                else:
                    full_name, inn = f"{form} «{names.org_word()}»", inn10(r)
            consumers.append(
                f"{consumer_id}\t{'person' if person else 'organisation'}\t"
                f"{full_name}\t{inn}\t{stamp(opened, 600)}"
            )
        prev_consumer = consumer_id if person else None
        if person:
            apartment = str(1 + int(rand() * 320)) if rand() < 0.9 else NULL
        else:
            apartment = f"оф. {1 + int(rand() * 40)}" if rand() < 0.3 else NULL
        status = "active" if rand() < 0.97 else ("closed" if rand() < 0.7 else "suspended")
        number = f"{prefix}{number_perm(i):08d}"
        accounts.append(
            f"{account_id}\t{number}\t{consumer_id}\t{status}\t{city}\t{street}\t"
            f"{house}\t{apartment}\t{tz}\t{day(opened)}\t{stamp(opened, 600)}\t{updated}"
        )

        # Phones: most have a mobile, some share one (a family), a few have none.
        phone_base = bases.phones + i * PHONE_SLOTS
        if rand() < 0.88:
            if prev_phone is not None and prev_phone_uses < 3 and rand() < 0.07:
                prev_phone_uses += 1
                account_phones.append(f"{prev_phone}\t{account_id}\tmobile")
            else:
                prev_phone, prev_phone_uses = phone_base + 1, 1
                code = MOBILE_CODES[int(rand() * 7)]
                phones.append(f"{prev_phone}\t+79{code}{mobile_perm(i):08d}")
                account_phones.append(f"{prev_phone}\t{account_id}\tmobile")
        else:
            prev_phone = None
        if rand() < 0.1 and i < 10**7:
            phones.append(f"{phone_base + 2}\t+7{area_code}{home_perm(i):07d}")
            account_phones.append(f"{phone_base + 2}\t{account_id}\thome")
        if not person and rand() < 0.5:
            code = MOBILE_CODES[int(rand() * 7)]
            phones.append(f"{phone_base + 3}\t+79{code}{mobile_perm(i + 5 * 10**7):08d}")
            account_phones.append(f"{phone_base + 3}\t{account_id}\twork")

        # Services, money, meters.
        debtor = rand() < 0.22
        owed_months = OVERDUE[int(rand() * len(OVERDUE))] if debtor else 0
        month_total = [0] * len(periods)
        services = [s for s in pools.SERVICES if rand() < SERVICE_SHARE[s]] or ["electricity"]
        for s_idx, service in enumerate(pools.SERVICES):
            if service not in services:
                continue
            zones = ZONES[int(rand() * len(ZONES))] if service == "electricity" else ("total",)
            tariff = (
                {1: "single", 2: "two_zone", 3: "three_zone"}[len(zones)]
                if service == "electricity"
                else "standard"
            )
            if status == "closed":
                s_status = "disconnected"
            elif owed_months >= 6 and rand() < 0.5:
                s_status = "restricted" if rand() < 0.8 else "disconnected"
            else:
                s_status = "active"
            acc_services.append(f"{account_id}\t{service}\t{s_status}\t{tariff}")

            lo, hi = VOLUME[service]
            base_volume = lo + rand() * (hi - lo)
            price = TARIFF_KOP[service]
            volumes = []
            for k, period in enumerate(periods):
                if service == "heating" and 5 <= period.month <= 8:
                    volumes.append(0.0)
                    charges.append(f"{account_id}\t{service}\t{period_text[k]}\t0.00\t0.000")
                    continue
                vol = base_volume * (0.8 + 0.4 * rand())
                volumes.append(vol)
                kop = int(vol * price)
                month_total[k] += kop
                charges.append(
                    f"{account_id}\t{service}\t{period_text[k]}\t{money(kop)}\t{vol:.3f}"
                )
            monthly = int(base_volume * price)
            if owed_months:
                debt = int(monthly * owed_months * (0.6 + 0.4 * rand()))
                penalty = int(debt * 0.0045 * owed_months) if owed_months >= 2 else 0
                balance = -(debt + penalty)
            else:
                debt = penalty = 0
                balance = int(monthly * rand()) if rand() < 0.1 else 0
            balances.append(
                f"{account_id}\t{service}\t{last_period}\t{money(balance)}\t"
                f"{money(debt)}\t{money(penalty)}\t{owed_months}\t{updated}"
            )

            if rand() < METER_SHARE[service]:
                meter_id = bases.meters + i * METER_SLOTS + s_idx + 1
                elec = service == "electricity"
                digits = (5 if rand() < 0.4 else 6) if elec else 5
                decimals = (1 if rand() < 0.5 else 0) if elec else 3
                installed = today - 60 - int(rand() * 5400)
                years = VERIFY_YEARS[service]
                due = installed + int(365.25 * years)
                serial = f"{METER_LETTER[service]}{serial_perm(i):09d}"
                meters.append(
                    f"{meter_id}\t{account_id}\t{service}\t{serial}\t"
                    f"{{{','.join(zones)}}}\t{digits}\t{decimals}\t{day(due)}\t{day(installed)}"
                )
                step = 10 ** (3 - decimals)  # thousandths per last shown digit
                for zone in zones:
                    value = int(rand() * (10**digits * 0.3 if elec else 1500) * 1000)
                    share = ZONE_SHARE[zone]
                    for k, period in enumerate(periods):
                        value += int(volumes[k] * share * 1000)
                        p_ord = period.toordinal() + 27 + int(rand() * 6)
                        src = SOURCES[int(rand() * len(SOURCES))]
                        if rand() < 0.02:
                            readings.append(
                                f"{meter_id}\t{zone}\t{period_text[k]}\t{value // 2000}.000\t{src}\t"
                                f"rejected\t{pools.REJECT_REASONS[int(rand() * 3)]}\t{stamp(p_ord, 540)}"
                            )
                        shown = value - value % step
                        readings.append(
                            f"{meter_id}\t{zone}\t{period_text[k]}\t{shown // 1000}."
                            f"{shown % 1000:03d}\t{src}\taccepted\t{NULL}\t{stamp(p_ord, 600)}"
                        )

        # Payments: one per paid month for the whole account.
        pay_p = 0.35 if debtor else 0.85
        for k, period in enumerate(periods):
            if month_total[k] and rand() < pay_p:
                paid_on = period.toordinal() + 35 + int(rand() * 20)
                if paid_on < today:
                    ch = PAY_CHANNELS[int(rand() * len(PAY_CHANNELS))]
                    payments.append(
                        f"{account_id}\t{NULL}\t{day(paid_on)}\t{money(month_total[k])}\t{ch}"
                    )

        # Appeals history over the last two years.
        for _ in range(appeal_counts[int(rand() * len(appeal_counts))]):
            a_type, topic, _, group, due_days = TOPICS[int(rand() * len(TOPICS))]
            age = int(rand() ** 1.5 * 730)
            created = today - age
            minute = 480 + int(rand() * 720)
            priority = (
                "high"
                if group == "outages" and rand() < 0.5
                else PRIORITY[int(rand() * len(PRIORITY))]
            )
            channel = CHANNELS[int(rand() * len(CHANNELS))]
            if age > 30:
                a_status = (
                    "closed" if rand() < 0.7 else ("resolved" if rand() < 0.85 else "rejected")
                )
            else:
                x = rand()
                a_status = "new" if x < 0.3 else ("in_progress" if x < 0.7 else "resolved")
            closed = NULL
            if a_status in ("closed", "resolved", "rejected"):
                took = min(age, int(rand() * due_days * 1.2))
                closed = stamp(created + took, min(minute + 60, 1439))
            summary = pools.APPEAL_SUMMARIES[int(rand() * 6)] if rand() < 0.4 else NULL
            appeals.append(
                f"{account_id}\t{consumer_id}\t{a_type}\t{topic}\t{priority}\t{a_status}\t"
                f"{channel}\t{group}\t{summary}\t{stamp(created, minute)}\t"
                f"{stamp(created + due_days, minute)}\t{closed}"
            )

    return {t: ("\n".join(rows) + "\n").encode() if rows else b"" for t, rows in out.items()}
