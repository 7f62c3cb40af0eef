"""The ADDRESS OPTIONS section of man/pysocat.1 is generated from the option table.

A row added, removed or changed without ``make man`` leaves the committed page
different from what the generator produces, and the first test fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pysocat.options import TABLE, OptionDesc, OptType, Phase, manpage

MAN = Path(__file__).resolve().parents[2] / "man" / "pysocat.1"


def test_committed_page_equals_the_generated_section() -> None:
    page = MAN.read_text(encoding="utf-8")
    assert manpage.splice(page, manpage.render()) == page, "man/pysocat.1 is out of date: run make man"


def test_the_section_lies_between_address_options_and_data_values() -> None:
    page = MAN.read_text(encoding="utf-8")
    assert page.index(".SH ADDRESS OPTIONS\n" + manpage.BEGIN) < page.index(manpage.END + "\n.SH DATA VALUES")


def test_every_row_has_one_entry_and_nothing_else_does() -> None:
    lines = manpage.render().splitlines()
    headings = [lines[i + 1] for i, line in enumerate(lines) if line == ".TP"]
    names = [re.match(r"\\fB(.*?)\\fP", line).group(1).replace("\\-", "-") for line in headings]  # type: ignore[union-attr]
    assert names == [desc.name for section in manpage.SECTIONS for desc in TABLE if manpage.section_of(desc) is section]
    assert sorted(names) == sorted(desc.name for desc in TABLE)


def test_a_new_row_changes_the_section() -> None:
    row = OptionDesc("no-such-option", OptType.INT, frozenset({"SOCKET"}), Phase.PASTSOCKET, ("nso",), lo=0, hi=9,
                     help="a row that only this test declares")
    text = manpage.render([*TABLE, row])
    assert text != manpage.render()
    assert "\\fBno\\-such\\-option\\fP=\\fIint\\fP\n" in text
    assert "Type \\fBINT\\fP (0 to 9); alias \\fBnso\\fP; group \\fBSOCKET\\fP; phase PASTSOCKET.\n" in text
    assert "A row that only this test declares.\n" in text


def test_a_row_in_a_group_without_a_section_is_refused() -> None:
    row = OptionDesc("orphan", OptType.BOOL, frozenset({"NOWHERE"}), Phase.INIT)
    with pytest.raises(LookupError, match="orphan"):
        manpage.render([row])


@pytest.mark.parametrize(
    ("help_text", "roff"),
    [
        ("set `O_CREAT`", "Set \\fBO_CREAT\\fP."),
        ("like `tail -f`; done.", "Like \\fBtail \\-f\\fP; done."),
        ("`creat` first", "\\fBcreat\\fP first."),
        (".hidden request", "\\&.hidden request."),
        ("a \\ backslash", "A \\e backslash."),
        ("", ""),
    ],
)
def test_help_becomes_an_escaped_sentence(help_text: str, roff: str) -> None:
    assert manpage.sentence(help_text) == roff


def test_headings_name_the_value() -> None:
    by_name = {desc.name: desc for desc in TABLE}
    assert manpage.heading(by_name["reuseaddr"]) == "\\fBreuseaddr\\fP[=\\fIbool\\fP]"
    assert manpage.heading(by_name["lockfile"]) == "\\fBlockfile\\fP=\\fIfilename\\fP"
    assert manpage.heading(by_name["setsockopt"]) == "\\fBsetsockopt\\fP=\\fIlevel\\fP:\\fIoptname\\fP:\\fIvalue\\fP"
    assert manpage.heading(by_name["connect-timeout"]) == "\\fBconnect\\-timeout\\fP=\\fIseconds\\fP"


def test_facts_state_every_group_and_a_narrow_range_only() -> None:
    by_name = {desc.name: desc for desc in TABLE}
    assert manpage.facts(by_name["ip-ttl"]) == (
        "Type \\fBINT\\fP (0 to 255); alias \\fBttl\\fP; groups \\fBIP4\\fP, \\fBIP6\\fP; phase PASTSOCKET."
    )
    assert "(" not in manpage.facts(by_name["rcvbuf"])  # 0 to 2**31-1 is the type's own range


def test_main_checks_and_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.1"
    page.write_text(f".SH ADDRESS OPTIONS\n{manpage.BEGIN}\nxyzzy\n{manpage.END}\n.SH DATA VALUES\n", encoding="utf-8")
    assert manpage.main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert manpage.main([str(page)]) == 0
    assert manpage.main(["--check", str(page)]) == 0
    assert "xyzzy" not in page.read_text(encoding="utf-8")
    assert manpage.main([]) == 2


def test_a_page_without_markers_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.1"
    page.write_text(".SH ADDRESS OPTIONS\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        manpage.main([str(page)])
