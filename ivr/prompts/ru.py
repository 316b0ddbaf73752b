"""Russian: everything the IVR says, and the sound files that say it (folder ``ccs/ru``)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.prompts import Prompt, Voice, join
from speech import number_to_words

_VOICE = Voice("ru")
LANG = _VOICE.lang
FOLDER = _VOICE.folder
WORDS = _VOICE.words_folder
_p = _VOICE.prompt
words = _VOICE.words
number = _VOICE.number
digits = _VOICE.digits
money = _VOICE.money


WELCOME = _p("welcome", "Здравствуйте! Вы позвонили в контакт-центр энергосбытовой компании.")
ASK_ACCOUNT = _p(
    "ask-account",
    "Назовите номер лицевого счёта или наберите его на телефоне и нажмите решётку.",
)
ACCOUNT_NOT_FOUND = _p("account-not-found", "Лицевой счёт с таким номером не найден.")
NO_INPUT = _p("no-input", "Извините, я вас не слышу.")
NOT_UNDERSTOOD = _p("not-understood", "Извините, я не поняла ответ.")
SPEECH_BUSY = _p("speech-busy", "Пожалуйста, наберите ответ на клавиатуре телефона.")
MENU = _p(
    "menu",
    "Чтобы передать показания счётчиков, скажите «показания» или нажмите 1. "
    "Баланс и задолженность: скажите «баланс» или нажмите 2. "
    "Информация об отключениях: скажите «отключения» или нажмите 3. "
    "Соединение с оператором: скажите «оператор» или нажмите 0.",
)
# Words that pick a menu item when said; they are added to the recognizer's grammar.
MENU_WORDS: dict[str, tuple[str, ...]] = {
    "readings": ("показания", "счетчик"),
    "balance": ("баланс", "задолженность", "долг"),
    "outage": ("отключения", "авария", "свет"),
}
ASK_READING = _p(
    "ask-reading",
    "Назовите показания или наберите их на телефоне: звёздочка — десятичная запятая, "
    "решётка — конец ввода.",
)
CONFIRM_HINT = _p("confirm-hint", "Если верно, скажите «да» или нажмите 1. Если нет — нажмите 2.")
READING_SAVED = _p("reading-saved", "Показания приняты.")
NO_METERS = _p("no-meters", "По вашему лицевому счёту нет счётчиков для передачи показаний.")
NO_DEBT = _p("no-debt", "Задолженности нет.")
NO_BALANCE = _p("no-balance", "Сведений о начислениях по вашему счёту пока нет.")
NO_OUTAGES = _p("no-outages", "По вашему адресу отключений нет.")
TRANSFER = _p("transfer", "Соединяю с оператором. Пожалуйста, оставайтесь на линии.")
GOODBYE = _p("goodbye", "Спасибо за звонок. До свидания.")
ANYTHING_ELSE = _p("anything-else", "Чем ещё я могу помочь?")

# Played by dialplans/extensions.conf itself (it names them as ccs/ru/...), not by the IVR server.
SELF_SERVICE_DOWN = _p(
    "self-service-down",
    "Автоматическое обслуживание сейчас недоступно. Соединяю с оператором, "
    "пожалуйста, оставайтесь на линии.",
)
QUEUE_GIVE_UP = _p(
    "queue-give-up", "К сожалению, все операторы заняты. Пожалуйста, перезвоните позже."
)
SURVEY_THANKS = _p("survey-thanks", "Спасибо, что воспользовались нашей службой.")
ROBOT_MESSAGE = _p(
    "robot-message",
    "Здравствуйте! Вам звонит энергосбытовая компания. По вашему лицевому счёту есть "
    "задолженность. Пожалуйста, оплатите её.",
)
ROBOT_KEYS = _p(
    "robot-keys",
    "Если вы получили это сообщение, нажмите 1. Соединение с оператором: нажмите 0. "
    "Чтобы больше не получать такие звонки, нажмите 9.",
)
ROBOT_THANKS = _p("robot-thanks", "Спасибо! До свидания.")
ROBOT_OPTOUT = _p(
    "robot-optout", "Мы больше не будем звонить вам с такими сообщениями. До свидания."
)

# Robocall campaigns (campaigns/dialer.py, dialplans/robocall.conf). A campaign's message names
# its recorded parts by the keys of ROBOCALL_MESSAGES (campaigns/templates.py shows their text to
# the supervisor); amounts, dates and house numbers are said by the builders below, word by word.
ROBOCALL_MESSAGES = {
    "debt-reminder-1": _p(
        "robocall-debt-reminder-1",
        "Здравствуйте! Вам звонит энергосбытовая компания. "
        "По вашему лицевому счёту есть задолженность в размере",
    ),
    "debt-pay-please": _p("robocall-debt-pay-please", "Пожалуйста, оплатите её в ближайшее время."),
    "debt-pay-by": _p("robocall-debt-pay-by", "Пожалуйста, оплатите её до"),
    "debt-reminder-2": _p(
        "robocall-debt-reminder-2",
        "Здравствуйте! Вам звонит энергосбытовая компания. "
        "Напоминаем, что задолженность по вашему лицевому счёту составляет",
    ),
    "debt-restriction-warning": _p(
        "robocall-debt-restriction-warning",
        "Если долг не будет оплачен, подача электроэнергии может быть ограничена в порядке, "
        "установленном законом.",
    ),
    "outage-alert": _p(
        "robocall-outage-alert",
        "Здравствуйте! Вам звонит энергосбытовая компания. Сообщаем об отключении по адресу",
    ),
    "routine-notice": _p(
        "robocall-routine-notice",
        "Здравствуйте! Вам звонит энергосбытовая компания. "
        "Напоминаем: передайте показания счётчиков до двадцать пятого числа.",
    ),
}
ROBOCALL_HOUSE = _p("robocall-house", "дом")
# Said before a street's own recording (ivr/sounds/streets.py: the key of each kind of street).
ROBOCALL_STREET_KINDS = {
    "street": _p("robocall-street", "улица"),
    "avenue": _p("robocall-avenue", "проспект"),
    "lane": _p("robocall-lane", "переулок"),
    "boulevard": _p("robocall-boulevard", "бульвар"),
    "highway": _p("robocall-highway", "шоссе"),
    "square": _p("robocall-square", "площадь"),
    "embankment": _p("robocall-embankment", "набережная"),
    "passage": _p("robocall-passage", "проезд"),
    "district": _p("robocall-district", "микрорайон"),
}
# The keys prompt is made of the options the campaign offers, each followed by its key's number.
ROBOCALL_KEY_CONFIRM = _p("robocall-key-confirm", "Если вы получили это сообщение, нажмите")
ROBOCALL_KEY_OPERATOR = _p("robocall-key-operator", "Чтобы соединиться с оператором, нажмите")
ROBOCALL_KEY_OPT_OUT = _p(
    "robocall-key-opt-out", "Чтобы больше не получать такие звонки, нажмите"
)

SERVICES = {
    "electricity": "электроэнергия",
    "heating": "отопление",
    "hot_water": "горячая вода",
    "cold_water": "холодная вода",
}
ZONES = {"total": "", "day": "дневная зона", "night": "ночная зона", "peak": "пиковая зона",
         "semipeak": "полупиковая зона"}
MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
          "сентября", "октября", "ноября", "декабря")

REJECTED = {
    "negative": _p("rejected-negative", "Показания не могут быть отрицательными."),
    "too_many_digits": _p("rejected-digits", "В показаниях больше цифр, чем на вашем счётчике."),
    "too_many_decimals": _p(
        "rejected-decimals", "В показаниях слишком много знаков после запятой."
    ),
    "below_previous": _p("rejected-below", "Показания меньше предыдущих принятых показаний."),
    "too_high": _p(
        "rejected-high", "Показания слишком велики по сравнению с вашим обычным расходом."
    ),
    "period_closed": _p(
        "rejected-closed", "Расчётный период закрыт, показания за него не принимаются."
    ),
    "unknown_zone": _p("rejected-zone", "У этого счётчика нет такой тарифной зоны."),
    "meter_removed": _p("rejected-removed", "Этот счётчик снят с учёта."),
    "not_a_number": _p("rejected-not-number", "Показания должны быть числом."),
    "conflicts_later": _p(
        "rejected-later", "Показания не согласуются с более поздними принятыми показаниями."
    ),
}
REJECTED_TAIL = _p("rejected-tail", "Показания не приняты и переданы специалисту на проверку.")


def confirm_account(number_text: str) -> Prompt:
    return join(_p("your-account", "Ваш лицевой счёт"), digits(number_text), CONFIRM_HINT)


def choose_account(numbers: list[str]) -> Prompt:
    parts = [_p("choose-account", "К вашему номеру привязано несколько лицевых счетов.")]
    for i, n in enumerate(numbers, start=1):
        parts += [_p("account-ending", "Для счёта, который оканчивается на"), digits(n[-4:]),
                  _p("press", "нажмите"), number(i)]
    return join(*parts)


def meter_intro(service: str, serial: str, zone: str) -> Prompt:
    parts = [words(SERVICES.get(service, service)), _p("meter-ending", "счётчик номер на"),
             digits(serial[-4:])]
    if ZONES.get(zone):
        parts.append(words(ZONES[zone]))
    return join(*parts)


def readback(value: Decimal) -> Prompt:
    return join(_p("you-said", "Вы передали"), number(value), CONFIRM_HINT)


def balance_line(service: str, debt: Decimal, balance: Decimal) -> Prompt:
    name = words(SERVICES.get(service, service))
    if debt > 0:
        return join(name, _p("debt", "задолженность"), money(debt))
    if balance > 0:
        return join(name, _p("overpaid", "переплата"), money(balance))
    if balance < 0:  # owed now, not yet overdue: an amount to pay, not "no debt"
        return join(name, _p("amount-due", "к оплате"), money(-balance))
    return join(name, NO_DEBT)


def total_debt(amount: Decimal) -> Prompt:
    return join(_p("total-debt", "Общая задолженность"), money(amount))


def total_due(amount: Decimal) -> Prompt:
    return join(_p("total-due", "Всего к оплате"), money(amount))


_DAY_UNITS = ("первого", "второго", "третьего", "четвёртого", "пятого", "шестого", "седьмого",
              "восьмого", "девятого")
_DAY_TEENS = ("десятого", "одиннадцатого", "двенадцатого", "тринадцатого", "четырнадцатого",
              "пятнадцатого", "шестнадцатого", "семнадцатого", "восемнадцатого", "девятнадцатого")


def _day(day: int) -> str:
    """Ordinal in the genitive, as dates are said: ``двадцать второго``."""
    if day < 10:
        return _DAY_UNITS[day - 1]
    if day < 20:
        return _DAY_TEENS[day - 10]
    tens = {2: "двадцать", 3: "тридцать"}[day // 10]
    if day % 10 == 0:
        return {2: "двадцатого", 3: "тридцатого"}[day // 10]
    return f"{tens} {_DAY_UNITS[day % 10 - 1]}"


def clock_time(moment: dt.datetime) -> Prompt:
    """``17:05`` as announcements say it: ``семнадцать ноль пять`` (no gender or plural traps)."""
    minute = "ноль ноль" if moment.minute == 0 else (
        f"ноль {number_to_words(moment.minute, LANG)}" if moment.minute < 10
        else number_to_words(moment.minute, LANG))
    return join(number(moment.hour), words(minute))


def day_and_month(day: dt.date) -> Prompt:
    """A date as it is named in a sentence: ``двадцать второго ноября``."""
    return join(words(_day(day.day)), words(MONTHS[day.month - 1]))


def when(moment: dt.datetime) -> Prompt:
    """A local date and time, as ``двадцать второго ноября в семнадцать ноль пять``."""
    return join(day_and_month(moment), _p("at", "в"), clock_time(moment))


def outage_line(service: str, planned: bool, restore_at: dt.datetime | None) -> Prompt:
    kind = _p("planned-outage", "плановое отключение") if planned else _p(
        "emergency-outage", "аварийное отключение")
    parts = [words(SERVICES.get(service, service)), kind]
    if restore_at is None:
        parts.append(_p("restore-unknown", "время восстановления уточняется"))
    else:
        parts += [_p("restore-at", "восстановление ожидается"), when(restore_at)]
    return join(*parts)


def outages_count(n: int) -> Prompt:
    return join(_p("outages-at-address", "По вашему адресу отключений:"), number(n))
