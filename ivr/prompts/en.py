"""English (second locale): everything the IVR says and its sound files (folder ``ccs/en``)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ivr.prompts import Prompt, Voice, join
from speech import number_to_words

_VOICE = Voice("en")
LANG = _VOICE.lang
FOLDER = _VOICE.folder
WORDS = _VOICE.words_folder
_p = _VOICE.prompt
words = _VOICE.words
number = _VOICE.number
digits = _VOICE.digits
money = _VOICE.money


WELCOME = _p("welcome", "Hello! You have reached the utility company's contact center.")
ASK_ACCOUNT = _p(
    "ask-account",
    "Say your account number or key it in and press hash.",
)
ACCOUNT_NOT_FOUND = _p("account-not-found", "No account with this number was found.")
NO_INPUT = _p("no-input", "Sorry, I cannot hear you.")
NOT_UNDERSTOOD = _p("not-understood", "Sorry, I did not understand.")
SPEECH_BUSY = _p("speech-busy", "Please key your answer in on the phone.")
MENU = _p(
    "menu",
    "To give meter readings, say 'readings' or press 1. "
    "Balance and debt: say 'balance' or press 2. "
    "Outage information: say 'outages' or press 3. "
    "To speak to an operator: say 'operator' or press 0.",
)
# Words that pick a menu item when said; they are added to the recognizer's grammar.
MENU_WORDS: dict[str, tuple[str, ...]] = {
    "readings": ("readings", "meter"),
    "balance": ("balance", "debt"),
    "outage": ("outages", "outage", "power"),
}
ASK_READING = _p(
    "ask-reading",
    "Say the reading or key it in: star is the decimal point, "
    "hash ends the number.",
)
CONFIRM_HINT = _p("confirm-hint", "If this is right, say yes or press 1. If not, press 2.")
READING_SAVED = _p("reading-saved", "Reading accepted.")
NO_METERS = _p("no-meters", "Your account has no meters to read.")
NO_DEBT = _p("no-debt", "No debt.")
NO_BALANCE = _p("no-balance", "There are no charges on your account yet.")
NO_OUTAGES = _p("no-outages", "There are no outages at your address.")
TRANSFER = _p("transfer", "Connecting you to an operator. Please stay on the line.")
GOODBYE = _p("goodbye", "Thank you for calling. Goodbye.")
ANYTHING_ELSE = _p("anything-else", "What else can I do for you?")

# Played by dialplans/extensions.conf itself (it names the Russian ones), not by the IVR server.
SELF_SERVICE_DOWN = _p(
    "self-service-down",
    "Self-service is not available right now. Connecting you to an operator, please stay on "
    "the line.",
)
QUEUE_GIVE_UP = _p("queue-give-up", "Sorry, all our operators are busy. Please call again later.")
SURVEY_THANKS = _p("survey-thanks", "Thank you for using our service.")
ROBOT_MESSAGE = _p(
    "robot-message",
    "Hello! This is your utility company calling. There is a debt on your account. "
    "Please pay it.",
)
ROBOT_KEYS = _p(
    "robot-keys",
    "If you got this message, press 1. To speak to an operator, press 0. "
    "To get no more such calls, press 9.",
)
ROBOT_THANKS = _p("robot-thanks", "Thank you! Goodbye.")
ROBOT_OPTOUT = _p("robot-optout", "We will not call you with such messages again. Goodbye.")

# Robocall campaigns (campaigns/dialer.py, dialplans/robocall.conf): the same names as ru.py.
ROBOCALL_MESSAGES = {
    "debt-reminder-1": _p(
        "robocall-debt-reminder-1",
        "Hello! This is your utility company calling. There is a debt on your account of",
    ),
    "debt-pay-please": _p("robocall-debt-pay-please", "Please pay it soon."),
    "debt-pay-by": _p("robocall-debt-pay-by", "Please pay it by"),
    "debt-reminder-2": _p(
        "robocall-debt-reminder-2",
        "Hello! This is your utility company calling. "
        "We remind you that the debt on your account is",
    ),
    "debt-restriction-warning": _p(
        "robocall-debt-restriction-warning",
        "If the debt is not paid, the electricity supply may be restricted as the law provides.",
    ),
    "outage-alert": _p(
        "robocall-outage-alert",
        "Hello! This is your utility company calling. There is an outage at the address",
    ),
    "routine-notice": _p(
        "robocall-routine-notice",
        "Hello! This is your utility company calling. "
        "Please give your meter readings by the twenty-fifth of the month.",
    ),
}
ROBOCALL_HOUSE = _p("robocall-house", "house")
# Said before a street's own recording (ivr/sounds/streets.py: the key of each kind of street).
ROBOCALL_STREET_KINDS = {
    "street": _p("robocall-street", "street"),
    "avenue": _p("robocall-avenue", "avenue"),
    "lane": _p("robocall-lane", "lane"),
    "boulevard": _p("robocall-boulevard", "boulevard"),
    "highway": _p("robocall-highway", "highway"),
    "square": _p("robocall-square", "square"),
    "embankment": _p("robocall-embankment", "embankment"),
    "passage": _p("robocall-passage", "passage"),
    "district": _p("robocall-district", "district"),
}
# The keys prompt is made of the options the campaign offers, each followed by its key's number.
ROBOCALL_KEY_CONFIRM = _p("robocall-key-confirm", "If you got this message, press")
ROBOCALL_KEY_OPERATOR = _p("robocall-key-operator", "To speak to an operator, press")
ROBOCALL_KEY_OPT_OUT = _p("robocall-key-opt-out", "To get no more such calls, press")

SERVICES = {
    "electricity": "electricity",
    "heating": "heating",
    "hot_water": "hot water",
    "cold_water": "cold water",
}
ZONES = {"total": "", "day": "day zone", "night": "night zone", "peak": "peak zone",
         "semipeak": "semi-peak zone"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

REJECTED = {
    "negative": _p("rejected-negative", "A reading cannot be negative."),
    "too_many_digits": _p("rejected-digits", "The reading has more digits than your meter."),
    "too_many_decimals": _p("rejected-decimals", "The reading has too many decimals."),
    "below_previous": _p("rejected-below", "The reading is below the previous accepted reading."),
    "too_high": _p("rejected-high", "The reading is far above your usual consumption."),
    "period_closed": _p("rejected-closed", "The billing period is closed."),
    "unknown_zone": _p("rejected-zone", "This meter has no such tariff zone."),
    "meter_removed": _p("rejected-removed", "This meter has been removed."),
    "not_a_number": _p("rejected-not-number", "A reading must be a number."),
    "conflicts_later": _p(
        "rejected-later", "The reading does not fit a later accepted reading."
    ),
}
REJECTED_TAIL = _p(
    "rejected-tail", "The reading was not accepted and has been passed on for review."
)


def confirm_account(number_text: str) -> Prompt:
    return join(_p("your-account", "Your account number is"), digits(number_text), CONFIRM_HINT)


def choose_account(numbers: list[str]) -> Prompt:
    parts = [_p("choose-account", "Several accounts belong to your phone number.")]
    for i, n in enumerate(numbers, start=1):
        parts += [_p("account-ending", "For the account ending in"), digits(n[-4:]),
                  _p("press", "press"), number(i)]
    return join(*parts)


def meter_intro(service: str, serial: str, zone: str) -> Prompt:
    parts = [words(SERVICES.get(service, service)), _p("meter-ending", "meter ending in"),
             digits(serial[-4:])]
    if ZONES.get(zone):
        parts.append(words(ZONES[zone]))
    return join(*parts)


def readback(value: Decimal) -> Prompt:
    return join(_p("you-said", "You said"), number(value), CONFIRM_HINT)


def balance_line(service: str, debt: Decimal, balance: Decimal) -> Prompt:
    name = words(SERVICES.get(service, service))
    if debt > 0:
        return join(name, _p("debt", "debt"), money(debt))
    if balance > 0:
        return join(name, _p("overpaid", "overpaid"), money(balance))
    if balance < 0:  # owed now, not yet overdue: an amount to pay, not "no debt"
        return join(name, _p("amount-due", "amount due"), money(-balance))
    return join(name, NO_DEBT)


def total_debt(amount: Decimal) -> Prompt:
    return join(_p("total-debt", "Total debt"), money(amount))


def total_due(amount: Decimal) -> Prompt:
    return join(_p("total-due", "Total amount due"), money(amount))


def clock_time(moment: dt.datetime) -> Prompt:
    """``17:05`` as ``seventeen oh five``; ``17:00`` as ``seventeen hundred``."""
    if moment.minute == 0:
        return join(number(moment.hour), words("hundred"))
    minute = number_to_words(moment.minute, LANG)
    return join(number(moment.hour), words(f"oh {minute}" if moment.minute < 10 else minute))


def day_and_month(day: dt.date) -> Prompt:
    """A date as it is named in a sentence: ``November twenty two``."""
    return join(words(MONTHS[day.month - 1]), number(day.day))


def when(moment: dt.datetime) -> Prompt:
    """A local date and time, as ``November twenty two at seventeen oh five``."""
    return join(day_and_month(moment), _p("at", "at"), clock_time(moment))


def outage_line(service: str, planned: bool, restore_at: dt.datetime | None) -> Prompt:
    kind = _p("planned-outage", "planned outage") if planned else _p(
        "emergency-outage", "emergency outage")
    parts = [words(SERVICES.get(service, service)), kind]
    if restore_at is None:
        parts.append(_p("restore-unknown", "restoration time is not known yet"))
    else:
        parts += [_p("restore-at", "expected restoration"), when(restore_at)]
    return join(*parts)


def outages_count(n: int) -> Prompt:
    return join(_p("outages-at-address", "Outages at your address:"), number(n))
