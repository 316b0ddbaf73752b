"""A handful of fixed accounts and phones that demos, recordings and tests refer to by number.

They match the callers in ``tests/data/ami/asterisk-22-recorded/README.md`` (account
100200300401 with phone +79120000001, ...). ``+79120000013`` is left unknown on purpose: that
recorded caller has no account. Numbers 1002003004xx and phones +7912xxxxxxx are never produced
by the random generator, so they cannot collide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class KnownAccount:
    number: str
    kind: str
    full_name: str
    city: str
    timezone: str
    street: str
    house: str
    apartment: str | None
    phones: tuple[str, ...]
    months_overdue: int = 0
    monthly_kop: int = 180_000
    zones: tuple[str, ...] = ("total",)
    inn: str | None = None
    verification_overdue: bool = False


MSK, EKB, NSK = "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"
KNOWN_ACCOUNTS: tuple[KnownAccount, ...] = (
    KnownAccount(
        "100200300401",
        "person",
        "Петров Иван Сергеевич",
        "Москва",
        MSK,
        "ул. Тверская",
        "12",
        "45",
        ("+79120000001",),
        zones=("day", "night"),
    ),
    KnownAccount(
        "100200300402",
        "person",
        "Смирнова Ольга Викторовна",
        "Екатеринбург",
        EKB,
        "ул. Малышева",
        "51",
        "12",
        ("+79120000002",),
        months_overdue=1,
    ),
    KnownAccount(
        "100200300403",
        "person",
        "Сидоров Пётр Андреевич",
        "Новосибирск",
        NSK,
        "ул. Кропоткина",
        "17",
        "3",
        ("+79120000003",),
    ),
    KnownAccount(
        "100200300404",
        "person",
        "Кузьмина Анна Павловна",
        "Красноярск",
        "Asia/Krasnoyarsk",
        "ул. Взлётная",
        "7к1",
        "88",
        ("+79120000004",),
        verification_overdue=True,
    ),
    KnownAccount(
        "100200300405",
        "person",
        "Морозов Геннадий Ильич",
        "Омск",
        "Asia/Omsk",
        "ул. Лукашевича",
        "9",
        "14",
        ("+79120000005",),
    ),
    KnownAccount(
        "100200300406",
        "person",
        "Морозова Нина Петровна",
        "Омск",
        "Asia/Omsk",
        "ул. Масленникова",
        "40",
        None,
        ("+79120000005",),
        months_overdue=2,
    ),
    KnownAccount(
        "100200300411",
        "person",
        "Волков Сергей Николаевич",
        "Самара",
        "Europe/Samara",
        "ул. Ново-Садовая",
        "106",
        "21",
        ("+79120000011",),
    ),
    KnownAccount(
        "100200300412",
        "person",
        "Белова Татьяна Юрьевна",
        "Иркутск",
        "Asia/Irkutsk",
        "ул. Байкальская",
        "239",
        "5",
        ("+79120000012",),
    ),
    KnownAccount(
        "100200300421",
        "person",
        "Иванов Алексей Дмитриевич",
        "Москва",
        MSK,
        "ул. Профсоюзная",
        "84",
        "301",
        ("+79120000021",),
        months_overdue=3,
    ),
    KnownAccount(
        "100200300422",
        "person",
        "Ким Борис Олегович",
        "Новосибирск",
        NSK,
        "ул. Зорге",
        "15",
        "77",
        ("+79120000022",),
        months_overdue=7,
    ),
    KnownAccount(
        "100200300423",
        "person",
        "Тон Галина Сергеевна",
        "Екатеринбург",
        EKB,
        "ул. Бажова",
        "68",
        "9",
        ("+79120000023",),
        months_overdue=2,
    ),
    KnownAccount(
        "100200300424",
        "person",
        "Ли Денис Игоревич",
        "Москва",
        MSK,
        "ул. Вавилова",
        "3",
        "112",
        ("+79120000024",),
        months_overdue=12,
    ),
    KnownAccount(
        "100200300425",
        "person",
        "Ю Елена Васильевна",
        "Москва",
        MSK,
        "ул. Бутлерова",
        "24",
        "8",
        ("+79120000025",),
        months_overdue=4,
    ),
    KnownAccount(
        "100200300431",
        "person",
        "Зотов Кирилл Евгеньевич",
        "Самара",
        "Europe/Samara",
        "ул. Галактионовская",
        "11",
        "2",
        ("+79120000031",),
    ),
    KnownAccount(
        "100200300432",
        "person",
        "Шум Лидия Фёдоровна",
        "Москва",
        MSK,
        "Кутузовский пр-т",
        "30",
        "64",
        ("+79120000032",),
        zones=("day", "night", "peak"),
    ),
    KnownAccount(
        "100200300496",
        "person",
        "Орлов Виктор Павлович",
        "Москва",
        MSK,
        "ул. Арбат",
        "20",
        "6",
        ("+79121110002",),
        months_overdue=3,
    ),
    KnownAccount(
        "100200300497",
        "person",
        "Павлова Марина Олеговна",
        "Екатеринбург",
        EKB,
        "ул. Вайнера",
        "13",
        "40",
        ("+79121110003",),
        months_overdue=5,
    ),
    KnownAccount(
        "100200300498",
        "person",
        "Фомин Степан Игоревич",
        "Новосибирск",
        NSK,
        "Красный пр-т",
        "82",
        "17",
        ("+79121110004",),
        months_overdue=4,
    ),
    KnownAccount(
        "100200300499",
        "organisation",
        "ООО «Вектор»",
        "Москва",
        MSK,
        "Варшавское ш.",
        "118",
        None,
        ("+79121110001",),
        months_overdue=6,
        monthly_kop=2_450_000,
        inn="7701234564",
    ),
)
# The outage the demo caller of 100200300403 asks about: the whole house is without electricity.
KNOWN_OUTAGE = ("electricity", "Новосибирск", "ул. Кропоткина", "17")


def _month_back(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return dt.date(y, m + 1, 1)


async def insert_known(conn: asyncpg.Connection, today: dt.date, history_months: int = 3) -> int:
    """Insert the fixed accounts (skipping those already present); return how many were added."""
    added = 0
    last = _month_back(today, 1)
    for k in KNOWN_ACCOUNTS:
        if await conn.fetchval("SELECT 1 FROM accounts WHERE number = $1", k.number):
            continue
        added += 1
        cid = await conn.fetchval(
            "INSERT INTO consumers (kind, full_name, inn) VALUES ($1, $2, $3) RETURNING id",
            k.kind,
            k.full_name,
            k.inn,
        )
        aid = await conn.fetchval(
            """INSERT INTO accounts (number, consumer_id, city, street, house, apartment, timezone,
                                     opened_on)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
            k.number,
            cid,
            k.city,
            k.street,
            k.house,
            k.apartment,
            k.timezone,
            today - dt.timedelta(days=2000),
        )
        for phone in k.phones:
            pid = await conn.fetchval(
                """INSERT INTO phones (e164) VALUES ($1)
                   ON CONFLICT (e164) DO UPDATE SET e164 = EXCLUDED.e164 RETURNING id""",
                phone,
            )
            await conn.execute(
                "INSERT INTO account_phones (phone_id, account_id) VALUES ($1, $2)", pid, aid
            )
        tariff = {1: "single", 2: "two_zone", 3: "three_zone"}[len(k.zones)]
        status = "restricted" if k.months_overdue >= 6 else "active"
        await conn.execute(
            "INSERT INTO account_services (account_id, service, status, tariff) VALUES ($1, $2, $3, $4)",
            aid,
            "electricity",
            status,
            tariff,
        )
        debt = k.monthly_kop * k.months_overdue // 100
        penalty = round(debt * 0.0045 * k.months_overdue, 2) if k.months_overdue >= 2 else 0
        await conn.execute(
            """INSERT INTO balances (account_id, service, period, balance, debt, penalty, months_overdue)
               VALUES ($1, 'electricity', $2, $3, $4, $5, $6)""",
            aid,
            last,
            -(debt + penalty),
            debt,
            penalty,
            k.months_overdue,
        )
        verification = (
            today - dt.timedelta(days=40)
            if k.verification_overdue
            else today + dt.timedelta(days=3000)
        )
        mid = await conn.fetchval(
            """INSERT INTO meters (account_id, service, serial, zones, digits, decimals,
                                   verification_due, installed_on)
               VALUES ($1, 'electricity', $2, $3, 6, 0, $4, $5) RETURNING id""",
            aid,
            f"K{k.number[-6:]}",
            list(k.zones),
            verification,
            today - dt.timedelta(days=3000),
        )
        for n in range(history_months, 0, -1):
            period = _month_back(today, n)
            await conn.execute(
                "INSERT INTO charges (account_id, service, period, amount, volume) "
                "VALUES ($1, 'electricity', $2, $3, $4)",
                aid,
                period,
                k.monthly_kop / 100,
                k.monthly_kop / 650,
            )
            for z, zone in enumerate(k.zones):
                await conn.execute(
                    """INSERT INTO readings (meter_id, zone, period, value, source, status)
                       VALUES ($1, $2, $3, $4, 'ivr', 'accepted')""",
                    mid,
                    zone,
                    period,
                    12000 + z * 5000 + (history_months - n) * 180,
                )
        await conn.execute(
            """INSERT INTO appeals (account_id, consumer_id, type, topic, status, channel,
                                    operator_group, created_at, due_at, closed_at)
               VALUES ($1, $2, 'Начисления', 'Вопрос по квитанции', 'closed', 'phone', 'billing',
                       now() - interval '40 days', now() - interval '30 days',
                       now() - interval '38 days')""",
            aid,
            cid,
        )
    return added
