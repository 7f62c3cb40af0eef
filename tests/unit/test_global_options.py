"""The global option table feeds the normaliser, docopt's usage, -h and the man page's OPTIONS section.

The property test compares the table-made parser with a frozen copy of the
hand-written one it replaced (``OLD_*`` and ``old_*`` below, as in pysocat/cli.py
before the table): for every socat-style argv both give the same docopt
arguments (same keys, order, values and type) and normalised argv, or the same error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from docopt import DocoptExit, docopt, parse_docstring_sections, parse_options
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysocat.cli import MAX_LEVEL, USAGE, _usage, build_config, env_prefix, manpage, normalise, parse_args
from pysocat.cli import help as cli_help
from pysocat.cli.globals import BUFSIZE_MAX, BY_LONG, TABLE, GlobalOption, Number
from pysocat.errors import SocatError

MAN = Path(__file__).resolve().parents[2] / "man" / "pysocat.1"

# --- the frozen implementation the table replaced ----------------------------------------

OLD_USAGE = """Usage:
  pysocat [options] [--] [<address>...]

Options:
  --version              print version and feature information, and exit
  --help=<level>         help text (1 = -h, 2 = -hh, 3 = -hhh)
  --debug=<n>            verbosity (-d count)
  --analyze              analyze file descriptors before the loop (-D)
  --syslog=<facility>    log to syslog (-ly)
  --log-file=<file>      log to file (-lf)
  --log-stderr           log to stderr (-ls)
  --log-mixed=<facility> stderr while starting, then syslog (-lm)
  --log-prefix=<name>    program name for logging (-lp)
  --log-micro            microsecond timestamps (-lu)
  --log-host             add hostname to log lines (-lh)
  --verbose-dump         text dump of traffic (-v)
  --hex-dump             hex dump of traffic (-x)
  --raw-lr=<file>        raw dump left to right (-r)
  --raw-rl=<file>        raw dump right to left (-R)
  --bufsize=<n>          buffer size (-b)
  --sloppy               continue on error (-s)
  --close-timeout=<t>    wait seconds before closing the second channel (-t)
  --total-timeout=<t>    inactivity timeout (-T)
  --unidir               left to right only (-u)
  --unidir-reverse       right to left only (-U)
  --no-group-check       do not check option groups (-g)
  --lock=<file>          obtain lock or fail (-L)
  --wait-lock=<file>     obtain lock or wait (-W)
  --ipv4                 prefer IPv4 (-4)
  --ipv6                 prefer IPv6 (-6)
  --signals=<list>       signals to log (-S)
  --statistics           print transfer statistics at exit
"""

OLD_FLAGS: dict[str, tuple[str, bool]] = {
    "-V": ("--version", False),
    "-D": ("--analyze", False),
    "-ls": ("--log-stderr", False),
    "-lu": ("--log-micro", False),
    "-lh": ("--log-host", False),
    "-v": ("--verbose-dump", False),
    "-x": ("--hex-dump", False),
    "-s": ("--sloppy", False),
    "-u": ("--unidir", False),
    "-U": ("--unidir-reverse", False),
    "-g": ("--no-group-check", False),
    "-4": ("--ipv4", False),
    "-6": ("--ipv6", False),
    "--statistics": ("--statistics", False),
    "-r": ("--raw-lr", True),
    "-R": ("--raw-rl", True),
    "-L": ("--lock", True),
    "-W": ("--wait-lock", True),
    "-lf": ("--log-file", True),
    "-b": ("--bufsize", True),
    "-t": ("--close-timeout", True),
    "-T": ("--total-timeout", True),
    "-lp": ("--log-prefix", True),
}
OLD_OPTIONAL = {"-ly": "--syslog", "-lm": "--log-mixed", "-S": "--signals"}


def old_is_address(arg: str) -> bool:
    return arg == "-" or not arg.startswith("-") or arg[1] in ",!:"


def old_normalise(argv: list[str]) -> list[str]:
    given: dict[str, str | None] = {}
    debug: int | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if old_is_address(arg):
            break
        i += 1
        if arg == "--":
            break
        m = re.fullmatch(r"-(h+|\?+)", arg)
        if m:
            given["--help"] = str(min(len(m.group(1)), 3))
            continue
        m = re.fullmatch(r"-d(d*)(\d*)", arg)
        if m:
            debug = int(m.group(2)) if m.group(2) else (debug or 0) + 1 + len(m.group(1))
            continue
        if arg in OLD_FLAGS:
            name, takes = OLD_FLAGS[arg]
            if takes:
                if i >= len(argv):
                    raise SocatError(f'option "{arg}" requires a value; use option "-h" for help')
                given[name] = argv[i]
                i += 1
            else:
                given[name] = None
            continue
        for flag, (name, takes) in sorted(OLD_FLAGS.items(), key=lambda kv: -len(kv[0])):
            if takes and arg.startswith(flag) and len(arg) > len(flag) and not arg.startswith("--"):
                given[name] = arg[len(flag) :]
                break
        else:
            for flag, name in OLD_OPTIONAL.items():
                if arg.startswith(flag):
                    given[name] = arg[len(flag) :]
                    break
            else:
                raise SocatError(f'unknown option "{arg}"; use option "-h" for help')
    if debug is not None:
        given["--debug"] = str(debug)
    out = [name if value is None else f"{name}={value}" for name, value in given.items()]
    return out + ["--"] + argv[i:]


def old_parse_args(argv: list[str]) -> dict[str, object]:
    try:
        args: dict[str, object] = docopt(OLD_USAGE, argv=old_normalise(argv), default_help=False, version=None)
    except DocoptExit:
        raise SocatError('invalid command line; use option "-h" for help') from None
    return args


def outcome(parse: Callable[[list[str]], dict[str, object]], argv: list[str]) -> tuple[object, ...]:
    """What a command line comes to: docopt's arguments (their order and type too), or the error."""
    try:
        args = parse(argv)
    except SocatError as exc:
        return ("error", type(exc).__name__, exc.message, exc.status)
    return ("ok", args, list(args), type(args))


def same_as_before(argv: list[str]) -> None:
    before = outcome(old_parse_args, argv)
    assert outcome(parse_args, argv) == before
    if before[0] == "ok":
        assert normalise(argv) == old_normalise(argv)


# --- generated socat-style command lines -------------------------------------------------

VALUE_FLAGS = ["-r", "-R", "-L", "-W", "-lf", "-b", "-t", "-T", "-lp"]
PLAIN_FLAGS = ["-V", "-D", "-ls", "-lu", "-lh", "-v", "-x", "-s", "-u", "-U", "-g", "-4", "-6", "--statistics"]
OPTIONAL_FLAGS = ["-ly", "-lm", "-S"]
ODD = ["-q", "-l", "-lx", "-lsx", "-vx", "-Vx", "--foo", "--statisticsx", "--debug=2", "--version", "-h?", "-hx",
       "-dx", "-D2", "-dD", "-d-1", "-", "--", "-,x", "-!!y", "-:z", ""]
values = st.text(alphabet="ab-=:, 09.\\'", max_size=6)
addresses = st.sampled_from(["-", "STDOUT", "TCP:localhost:80", "-,x", "-!!STDOUT", "/tmp/f", "", "-u", "-b8"])


@st.composite
def token(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["plain", "separate", "attached", "optional", "debug", "help", "odd", "random"]))
    if kind == "plain":
        return [draw(st.sampled_from(PLAIN_FLAGS))]
    if kind == "separate":
        return [draw(st.sampled_from(VALUE_FLAGS)), draw(values)]
    if kind == "attached":
        return [draw(st.sampled_from(VALUE_FLAGS)) + draw(values)]
    if kind == "optional":
        return [draw(st.sampled_from(OPTIONAL_FLAGS)) + draw(values)]
    if kind == "debug":
        tail = draw(st.sampled_from(["", "0", "2", "4", "9", "12", "\u0663", "\u00b2", "2d", "d", "x"]))
        return ["-d" + "d" * draw(st.integers(0, 4)) + tail]
    if kind == "help":
        return ["-" + draw(st.sampled_from("h?")) * draw(st.integers(1, 5))]
    if kind == "odd":
        return [draw(st.sampled_from(ODD))]
    return ["-" + draw(st.text(alphabet="dhlVbtTfpysSuU?-0129x", max_size=4))]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    argv = [arg for tok in draw(st.lists(token(), max_size=7)) for arg in tok]
    if draw(st.booleans()):
        argv.append("--")
    return argv + draw(st.lists(addresses, max_size=3))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_table_made_parser_equals_the_old_one(argv: list[str]) -> None:
    same_as_before(argv)


@pytest.mark.parametrize("argv", [
    [], ["-d", "-d"], ["-dd"], ["-d2"], ["-d0", "-dd"], ["-d", "-d3", "-d"], ["-hhhh"], ["-???"], ["-h", "-hh"],
    ["-b", "8192", "-b16"], ["-lf", "-x"], ["-lf"], ["-b"], ["-lylocal0", "-ly"], ["-S"], ["-S1,2"],
    ["--", "-u", "-"], ["-u", "-", "STDOUT"], ["-,x", "-"], ["-!!y", "-"], ["-:", "x"], ["-u", "-u", "-v"],
    ["--statistics", "-lpname", "-lp", "other"], ["-T0.5", "-t", "1e9", "-r", "a b", "-R-", "-L", "", "-W", "="],
    ["-q"], ["--debug=3"], ["-d\u0663"], ["-d\u00b2"], ["-dd2d"], ["---"], ["-hhd"],
    ["-ls", "-lu", "-lh", "-lm", "-lmuser", "-D", "-g", "-4", "-6", "-s", "-U", "-V", "x", "y"],
])
def test_known_command_lines_parse_as_before(argv: list[str]) -> None:
    same_as_before(argv)


def test_the_full_usage_parses_as_the_per_call_one() -> None:
    argv = ["-dd", "-b8", "-lf", "x", "-u", "-", "STDOUT"]
    assert docopt(USAGE, argv=normalise(argv), default_help=False, version=None) == parse_args(argv)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.long)
def test_every_spelling_reaches_its_long_option(row: GlobalOption) -> None:
    for flag in row.flags:
        if row.takes == "flag":
            assert normalise([flag]) == [row.long, "--"]
        elif row.takes == "value":
            assert normalise([flag, "v"]) == normalise([flag + "v"]) == [f"{row.long}=v", "--"]
        elif row.takes == "optional":
            assert (normalise([flag]), normalise([flag + "v"])) == ([f"{row.long}=", "--"], [f"{row.long}=v", "--"])
        elif row.takes == "level":
            assert normalise([flag + flag[1:] * 5]) == [f"{row.long}={MAX_LEVEL}", "--"]
        else:
            assert normalise([flag, flag + flag[1:], flag]) == [f"{row.long}=4", "--"]


def test_repeats_keep_first_position_and_last_value() -> None:
    assert normalise(["-b", "1", "-v", "-b2", "-d", "-d", "-"]) == ["--bufsize=2", "--verbose-dump", "--debug=2", "--", "-"]


# --- the table ---------------------------------------------------------------------------


def test_rows_are_well_formed() -> None:
    longs = [row.long for row in TABLE]
    assert len(longs) == len(set(longs))
    flags = [flag for row in TABLE for flag in row.flags]
    assert len(flags) == len(set(flags)), "a spelling selects two options"
    for row in TABLE:
        assert row.long.startswith("--") and all(flag.startswith("-") for flag in row.flags)
        assert row.help and row.man, f"{row.long}: no -h line or no man entry"
        assert (row.takes == "flag") == (row.metavar == ""), f"{row.long}: a value needs a metavar, a flag none"
        assert row.number is None or row.takes == "value"
        if row.takes in ("level", "count"):
            assert all(len(flag) == 2 for flag in row.flags), "repeated-letter spellings are one letter"
        assert BY_LONG[row.long] is row


def test_docopt_reads_every_row_from_the_usage() -> None:
    parsed = parse_options(parse_docstring_sections(USAGE).after_usage)
    assert [(o.longer, o.argcount) for o in parsed] == [(row.long, int(row.takes != "flag")) for row in TABLE]


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.long)
def test_help_and_man_name_every_spelling(row: GlobalOption) -> None:
    labels = " ".join(label for label, _ in row.help)
    tags = " ".join(tag for tag, _ in row.man)
    for flag in row.flags:
        assert flag in labels, f"-h does not show {flag}"
        assert f"`{flag}`" in tags, f"the man page has no entry for {flag}"


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.long)
def test_help_labels_leave_two_spaces(row: GlobalOption) -> None:
    for label, text in row.help:
        assert len(label) + 2 <= cli_help.column(row, label), label
        assert text and "  " not in text


def test_help_lists_the_rows_in_order() -> None:
    text = cli_help.help_text(1)
    block = text[text.index("   options ("): text.index("   bi-address:")]
    assert [line.split()[0] for line in block.splitlines()[1:]] == [label.split()[0] for row in TABLE
                                                                      for label, _ in row.help]
    assert "      -b<size_t>     set data buffer size (8192)\n" in block
    assert "      -d[ddd]         increase verbosity" in block


def test_a_new_row_reaches_usage_help_and_man() -> None:
    row = GlobalOption("--frobnicate", ("-F",), "value", metavar="level", help=(("-F<level>", "frobnicate"),),
                       man=(("`-F`<level>", "Frobnicate at <level>."),))
    assert re.search(r"^  --frobnicate=<level> +\(-F\)$", _usage((*TABLE, row)), re.M)
    text = manpage.render((*TABLE, row))
    assert ".TP\n\\fB\\-F\\fP\\fIlevel\\fP\nFrobnicate at \\fIlevel\\fP.\n" in text


# --- value checks -------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["-b", "x"], 'missing numerical value of option "-b": "x"'),
    (["-b0"], 'value of option "-b" out of range: 0 (allowed 1..inf)'),
    (["-b", str(BUFSIZE_MAX + 1)], f"buffer size option (-b) to big - {BUFSIZE_MAX + 1} (max is {BUFSIZE_MAX})"),
    (["-t", "nan"], 'value of option "-t" out of range: nan (allowed 0..1000000000.0)'),
    (["-T-1"], 'value of option "-T" out of range: -1 (allowed 0..1000000000.0)'),
    (["-u", "-U"], "-U and -u must not be combined"),
])
def test_bad_values_are_refused_in_socats_words(argv: list[str], message: str) -> None:
    with pytest.raises(SocatError) as info:
        build_config(parse_args([*argv, "-", "-"]))
    assert info.value.message == message


def test_good_values_reach_the_config() -> None:
    cfg = build_config(parse_args(["-b", "16", "-t1.5", "-T", "7", "-dd", "-", "-"]))
    assert (cfg.bufsize, cfg.close_timeout, cfg.total_timeout, cfg.verbosity) == (16, 1.5, 7.0, 2)
    assert Number(int, 1, 10).check("-x", "10") == 10.0


@given(st.text(max_size=12))
def test_env_prefix_is_the_old_substitution(name: str) -> None:
    assert env_prefix(name) == re.sub(r"[^A-Z0-9]", "_", name.upper())


# --- the man page -------------------------------------------------------------------------


def test_committed_page_equals_the_generated_section() -> None:
    page = MAN.read_text(encoding="utf-8")
    assert manpage.splice(page, manpage.render()) == page, "man/pysocat.1 is out of date: run make man"


def test_the_section_is_the_options_section() -> None:
    page = MAN.read_text(encoding="utf-8")
    assert page.index(".SH OPTIONS\n" + manpage.BEGIN) < page.index(manpage.END + "\n.SH ADDRESS SPECIFICATIONS")


@pytest.mark.parametrize(("text", "roff"), [
    ("`-b`<size>", "\\fB\\-b\\fP\\fIsize\\fP"),
    ("`#define WITH_`<FEATURE>` 1`", "\\fB#define WITH_\\fP\\fIFEATURE\\fP\\fB 1\\fP"),
    ("a line starting with `>` or `<` here", "a line starting with \\fB>\\fP or \\fB<\\fP here"),
    (".x \\ y", "\\&.x \\e y"),
])
def test_escape(text: str, roff: str) -> None:
    assert manpage.escape(text) == roff


def test_main_checks_and_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.1"
    page.write_text(f".SH OPTIONS\n{manpage.BEGIN}\nxyzzy\n{manpage.END}\n.SH ADDRESS SPECIFICATIONS\n", encoding="utf-8")
    assert manpage.main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert manpage.main([str(page)]) == 0
    assert manpage.main(["--check", str(page)]) == 0
    assert "xyzzy" not in page.read_text(encoding="utf-8")
    assert manpage.main([]) == 2
    page.write_text(".SH OPTIONS\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        manpage.main([str(page)])
