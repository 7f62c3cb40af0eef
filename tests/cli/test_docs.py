"""The documentation and the help texts cover everything that is registered.

The man page, ``-h``, ``-hh`` and ``-hhh`` must name every address type, option and
alias that the registry and the option table declare; the help lists must be sorted
the way socat's test.sh checks them; the man page must render without groff warnings.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from functools import cache

import pytest
from conftest import ROOT, run

from pysocat import options, registry

MAN = ROOT / "man" / "pysocat.1"
README = ROOT / "README.md"


@cache
def man_text() -> str:
    """The man page source with roff escapes that can split a name undone."""
    text = MAN.read_text(encoding="utf-8")
    text = text.replace("\\-", "-").replace("\\(hy", "-").replace("\\(en", "-")
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", text)  # font changes: \fB \fI \fP \f(CW \f[B]
    text = text.replace("\\&", "").replace("\\c", "")
    return text


def mentioned(name: str, text: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a whole word (case-insensitive)."""
    pattern = r"(?<![\w-])" + re.escape(name) + r"(?![\w-])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def help_output(level: int) -> str:
    proc = run("-" + "h" * level)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode()


def section(text: str, start: str, end: str | None = None) -> list[str]:
    """Lines after the line ending with ``start`` up to the line ending with ``end``."""
    lines = text.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.rstrip().endswith(start)) + 1
    stop = len(lines)
    if end is not None:
        stop = next((i for i in range(begin, len(lines)) if lines[i].rstrip().endswith(end)), len(lines))
    return [line for line in lines[begin:stop] if line.strip()]


def head_keys(text: str) -> list[str]:
    """Address keywords as test.sh's consistency check reads them (up to ':' or blank)."""
    return [re.split(r"[\s:]", line.strip(), maxsplit=1)[0] for line in section(text, "address-head:", "opts:")
            if "groups=" in line]


def option_keys(text: str) -> list[str]:
    """Option names as test.sh reads them (first field of each line after ``opt:``)."""
    return [line.split()[0] for line in section(text, "opt:")]


def c_sorted(items: list[str]) -> list[str]:
    """``LC_ALL=C sort``: byte order."""
    return sorted(items, key=lambda s: s.encode())


ALL_TYPE_NAMES = sorted(registry.names())
ALL_TYPE_ROWS = registry.rows()
OPTION_NAMES = sorted(desc.name for desc in options.TABLE)
OPTION_ALIASES = sorted(alias for desc in options.TABLE for alias in desc.aliases)


# --- the man page ------------------------------------------------------------------


def test_man_page_exists_with_its_sections() -> None:
    text = MAN.read_text(encoding="utf-8")
    for name in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ADDRESS SPECIFICATIONS", "ADDRESS TYPES",
                 "ADDRESS OPTIONS", "DATA VALUES", "EXAMPLES", "DIAGNOSTICS", "EXIT STATUS",
                 "DIFFERENCES FROM SOCAT"):
        assert re.search(rf'^\.SH "?{name}"?\s*$', text, flags=re.M), f"man page lacks section {name}"


@pytest.mark.parametrize("keyword", ALL_TYPE_NAMES)
def test_man_page_documents_every_address_type_and_alias(keyword: str) -> None:
    assert mentioned(keyword, man_text()), f"address keyword {keyword} is not in man/pysocat.1"


@pytest.mark.parametrize("name", OPTION_NAMES + OPTION_ALIASES)
def test_man_page_documents_every_option_and_alias(name: str) -> None:
    assert mentioned(name, man_text()), f"address option {name} is not in man/pysocat.1"


def test_man_page_address_types_section_covers_every_keyword() -> None:
    """Every keyword and alias appears in the ADDRESS TYPES section itself."""
    text = man_text()
    body = text[text.index(".SH ADDRESS TYPES"): text.index(".SH ADDRESS OPTIONS")]
    missing = [k for k in ALL_TYPE_NAMES if not mentioned(k, body)]
    assert not missing, f"not in ADDRESS TYPES: {missing}"


def test_man_page_address_options_section_covers_every_option() -> None:
    """Every option name and alias appears in the ADDRESS OPTIONS section, with its type."""
    text = man_text()
    body = text[text.index(".SH ADDRESS OPTIONS"): text.index(".SH DATA VALUES")]
    missing = [n for n in OPTION_NAMES + OPTION_ALIASES if not mentioned(n, body)]
    assert not missing, f"not in ADDRESS OPTIONS: {missing}"
    for desc in options.TABLE:
        entry = re.search(rf"^{re.escape(desc.name)}(\[=|=|\s*$)(.*\n){{1,2}}", body, flags=re.M)
        assert entry, f"no entry for option {desc.name}"
        assert f"Type {desc.type.value}" in entry.group(0), f"option {desc.name}: type {desc.type.value} not stated"


@pytest.mark.parametrize(
    "flag",
    ["-V", "-h", "-hh", "-hhh", "-d", "-dd", "-D", "-ly", "-lf", "-ls", "-lm", "-lp", "-lu", "-lh", "-v", "-x",
     "-r", "-R", "-b", "-s", "-t", "-T", "-u", "-U", "-g", "-L", "-W", "-4", "-6", "-S", "--statistics"],
)
def test_man_page_documents_every_global_option(flag: str) -> None:
    text = man_text()
    body = text[text.index(".SH OPTIONS"): text.index(".SH ADDRESS SPECIFICATIONS")]
    assert re.search(r"(?<![\w-])" + re.escape(flag), body), f"global option {flag} is not in OPTIONS"


def test_man_page_renders_without_groff_warnings() -> None:
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed (make apt-deps installs groff-base)")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    proc = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", str(MAN)], capture_output=True, env=env,
                          timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == b"" and proc.stderr == b"", proc.stderr.decode(errors="replace")


def test_man_page_has_no_lines_that_roff_would_misread() -> None:
    """A text line starting with ' is a control line; stray '.'-lines must be known requests."""
    known = {"TH", "SH", "SS", "TP", "TQ", "PP", "IP", "RS", "RE", "B", "I", "BR", "RB", "BI", "IB", "IR", "RI",
             "SY", "YS", "\\\""}
    for number, line in enumerate(MAN.read_text(encoding="utf-8").splitlines(), 1):
        assert not line.startswith("'"), f"line {number} starts with a quote: {line!r}"
        if line.startswith("."):
            request = line[1:].split(" ", 1)[0]
            assert request in known, f"line {number}: unexpected request {line!r}"


# --- help texts --------------------------------------------------------------------


@pytest.mark.parametrize("row", ALL_TYPE_ROWS, ids=lambda row: row.name)
def test_h_lists_every_address_type(row: registry.AddressType) -> None:
    keys = head_keys(help_output(1))
    assert row.name.lower() in {k.lower().rstrip("[") for k in keys}, f"{row.name} missing from -h"


def test_h_address_heads_are_sorted() -> None:
    """test.sh's consistency check: heads cut at ':' or blank, compared with LC_ALL=C sort."""
    keys = head_keys(help_output(1))
    assert len(keys) >= len(ALL_TYPE_ROWS)
    assert keys == c_sorted(keys)


def test_hh_lists_every_option_name() -> None:
    names = set(option_keys(help_output(2)))
    missing = [n for n in OPTION_NAMES if n not in names]
    assert not missing, f"missing from -hh: {missing}"


def test_hhh_lists_every_option_name_and_alias() -> None:
    names = set(option_keys(help_output(3)))
    missing = [n for n in OPTION_NAMES + OPTION_ALIASES if n not in names]
    assert not missing, f"missing from -hhh: {missing}"


@pytest.mark.parametrize("level", [2, 3])
def test_option_lines_are_sorted(level: int) -> None:
    keys = option_keys(help_output(level))
    assert keys, "no option lines"
    assert keys == c_sorted(keys)
    assert len(keys) == len(set(keys)), "an option line is listed twice"


def test_question_mark_spellings_match_h() -> None:
    """socat 1.7's test.sh uses -? and -??? for -h and -hhh."""
    assert run("-?").stdout == run("-h").stdout
    assert run("-???").stdout == run("-hhh").stdout


# --- README ------------------------------------------------------------------------


def test_readme_has_the_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make test" in text
    assert "pip install" in text
    assert "pysocat -d -d TCP-LISTEN:7000,reuseaddr,fork STDOUT" in text


def test_readme_lists_the_differences_from_socat() -> None:
    text = README.read_text(encoding="utf-8").lower()
    for topic in ("somaxconn", "65536", "unbalanced", "unlink-early", "closed standard", "econnreset",
                  "default log level", "-lp", "half-close"):
        assert topic in text, f"README does not mention {topic!r}"


def test_readme_commands_use_registered_keywords() -> None:
    """Every ``pysocat ...`` example in the README uses address keywords that exist."""
    text = README.read_text(encoding="utf-8")
    known = set(registry.names())
    for command in re.findall(r"`(pysocat [^`]*)`", text):
        for arg in shlex.split(command)[1:]:
            if arg.startswith("-"):
                continue
            for part in arg.strip("'\"").split("!!"):
                head = re.split(r"[:,]", part, maxsplit=1)[0]
                if not head or head.isdigit() or "." in head or "/" in head:
                    continue  # FD number, GOPEN path, or the value of a global option
                assert head.upper() in known, f"README example uses unknown address {head!r}: {command}"
