"""README promises: the two commands, CI calling the test command, every setting documented."""
import re

from ccs.settings import settings_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _first_code_block() -> list[str]:
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", README, re.S)
    assert block, "README must open with a code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_when_reading_readme_then_it_opens_with_exactly_two_commands():
    assert README.index("```") < 300, "the commands must come first"
    assert _first_code_block() == ["make run", "make test"]


def test_when_ci_runs_then_it_calls_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [l.strip() for l in ci.splitlines() if l.strip() and not l.startswith("#")]
    assert _first_code_block()[1] in commands


def test_when_settings_change_then_readme_table_matches():
    block = re.search(r"<!-- settings-table:begin -->\n(.*?)\n<!-- settings-table:end -->", README, re.S)
    assert block, "README lacks the settings table markers"
    assert block.group(1) == settings_table(), "run `ccs settings` and paste the table into README.md"


def test_when_billing_format_changes_then_readme_shows_it():
    from state.billing_import import BILLING_FORMAT

    block = re.search(r"<!-- billing-format:begin -->\n(.*?)\n<!-- billing-format:end -->", README, re.S)
    assert block, "README lacks the billing format markers"
    assert block.group(1).strip() == BILLING_FORMAT.strip()
