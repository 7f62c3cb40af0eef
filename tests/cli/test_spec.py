"""Unit and property tests of the pure address parser and the option table."""

from __future__ import annotations

import grp
import pwd

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysocat import options
from pysocat.errors import SpecError
from pysocat.options import lookup, parse_value, resolve
from pysocat.spec import AddressSpec, DualSpec, parse

PROPS = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


def single(text: str) -> AddressSpec:
    spec = parse(text)
    assert isinstance(spec, AddressSpec), spec
    return spec


# --- keywords, parameters, options -------------------------------------------------


@pytest.mark.parametrize("text", ["tcp:h:1", "TCP:h:1", "Tcp:h:1", "tCp:h:1"])
def test_keyword_is_case_insensitive_and_uppercased(text: str) -> None:
    spec = single(text)
    assert spec.keyword == "TCP"
    assert spec.params == ("h", "1")


def test_params_keep_their_case() -> None:
    spec = single("open:/Tmp/MixedCase")
    assert spec.keyword == "OPEN"
    assert spec.params == ("/Tmp/MixedCase",)


def test_keyword_without_params() -> None:
    spec = single("stdio")
    assert (spec.keyword, spec.params, spec.options) == ("STDIO", (), ())


def test_several_params() -> None:
    assert single("TCP-LISTEN:8080").params == ("8080",)
    assert single("TCP:example.org:http").params == ("example.org", "http")


def test_options_with_and_without_values() -> None:
    spec = single("TCP:h:80,reuseaddr,sndbuf=4096,bind=1.2.3.4")
    assert spec.options == (("reuseaddr", None), ("sndbuf", "4096"), ("bind", "1.2.3.4"))


def test_option_names_are_case_insensitive() -> None:
    spec = single("OPEN:x,CREAT,Mode=0600")
    assert [name for name, _ in spec.options] == ["creat", "mode"]
    assert dict(spec.options)["mode"] == "0600"


def test_option_value_keeps_later_equals_signs() -> None:
    assert single("OPEN:x,a=b=c").options == (("a", "b=c"),)


def test_empty_option_value_is_empty_string_not_none() -> None:
    assert single("OPEN:x,bind=").options == (("bind", ""),)


def test_empty_option_name_is_an_error() -> None:
    with pytest.raises(SpecError):
        parse("OPEN:x,=1")


def test_text_is_kept() -> None:
    assert single("tcp:h:1,nodelay").text == "tcp:h:1,nodelay"


# --- shorthand forms ---------------------------------------------------------------


def test_dash_is_stdio() -> None:
    spec = single("-")
    assert (spec.keyword, spec.params) == ("STDIO", ())


def test_dash_with_options_is_stdio() -> None:
    spec = single("-,ignoreeof")
    assert spec.keyword == "STDIO"
    assert spec.options == (("ignoreeof", None),)


@pytest.mark.parametrize("digits", ["0", "1", "3", "42"])
def test_bare_digits_are_fd(digits: str) -> None:
    spec = single(digits)
    assert (spec.keyword, spec.params) == ("FD", (digits,))


def test_bare_digits_with_options_are_fd() -> None:
    spec = single("5,nonblock")
    assert (spec.keyword, spec.params, spec.options) == ("FD", ("5",), (("nonblock", None),))


@pytest.mark.parametrize("path", ["/tmp/x", "./x", "../a/b", "dir/file", "/dev/null"])
def test_head_with_slash_is_gopen(path: str) -> None:
    spec = single(path)
    assert (spec.keyword, spec.params) == ("GOPEN", (path,))


def test_gopen_with_options() -> None:
    spec = single("/tmp/x,creat,append")
    assert (spec.keyword, spec.params) == ("GOPEN", ("/tmp/x",))
    assert spec.options == (("creat", None), ("append", None))


def test_gopen_keeps_colons_in_the_path() -> None:
    spec = single("./a:b")
    assert (spec.keyword, spec.params) == ("GOPEN", ("./a:b",))


def test_dual_address() -> None:
    spec = parse("OPEN:in!!OPEN:out,creat")
    assert isinstance(spec, DualSpec)
    assert (spec.read.keyword, spec.read.params) == ("OPEN", ("in",))
    assert (spec.write.keyword, spec.write.params, spec.write.options) == ("OPEN", ("out",), (("creat", None),))


def test_dual_of_shorthands() -> None:
    spec = parse("-!!/tmp/log")
    assert isinstance(spec, DualSpec)
    assert spec.read.keyword == "STDIO"
    assert (spec.write.keyword, spec.write.params) == ("GOPEN", ("/tmp/log",))


def test_dual_inside_quotes_is_not_split() -> None:
    spec = single('EXEC:"a!!b"')
    assert spec.params == ("a!!b",)


@pytest.mark.parametrize("text", ["!!", "a!!", "!!b", "a!!b!!c"])
def test_bad_dual_addresses(text: str) -> None:
    with pytest.raises(SpecError):
        parse(text)


def test_empty_address_is_an_error() -> None:
    with pytest.raises(SpecError):
        parse("")


# --- quoting and nesting -------------------------------------------------------------


def test_double_quotes_removed_and_protect_colon_comma() -> None:
    spec = single('EXEC:"a:b,c"')
    assert (spec.keyword, spec.params, spec.options) == ("EXEC", ("a:b,c",), ())


def test_single_quotes_removed_and_protect_colon_comma() -> None:
    spec = single("EXEC:'ls -l a:b,c',nofollow")
    assert spec.params == ("ls -l a:b,c",)
    assert spec.options == (("nofollow", None),)


def test_adjacent_quoted_parts_concatenate() -> None:
    assert single('OPEN:"a"\'b\'c').params == ("abc",)


def test_quote_of_other_kind_is_literal_inside_quotes() -> None:
    assert single("""EXEC:"it's",x""").params == ("it's",)
    assert single("""EXEC:'say "hi"'""").params == ('say "hi"',)


def test_quoted_option_value() -> None:
    assert single('STDIO,bind="a,b:c"').options == (("bind", "a,b:c"),)


def test_backslash_escapes_separators() -> None:
    assert single(r"OPEN:a\:b\,c").params == ("a:b,c",)


def test_backslash_escapes_quote() -> None:
    assert single(r"OPEN:a\"b").params == ('a"b',)


def test_backslash_escapes_backslash() -> None:
    assert single("OPEN:a\\\\b").params == ("a\\b",)


def test_trailing_backslash_is_an_error() -> None:
    with pytest.raises(SpecError):
        parse("OPEN:a\\")


def test_ipv6_brackets_keep_colons_and_brackets() -> None:
    spec = single("TCP:[::1]:80")
    assert (spec.keyword, spec.params) == ("TCP", ("[::1]", "80"))


def test_brackets_in_option_value() -> None:
    spec = single("TCP:h:80,bind=[::1]:5555,nodelay")
    assert spec.options == (("bind", "[::1]:5555"), ("nodelay", None))


@pytest.mark.parametrize(
    ("text", "param"),
    [
        ("SYSTEM:(a:b,c)", "(a:b,c)"),
        ("SYSTEM:[a:b,c]", "[a:b,c]"),
        ("SYSTEM:{a:b,c}", "{a:b,c}"),
        ("SYSTEM:{a(b[c:d],e)f}", "{a(b[c:d],e)f}"),
    ],
)
def test_nesting_keeps_separators_literal_and_brackets(text: str, param: str) -> None:
    spec = single(text)
    assert spec.params == (param,)
    assert spec.options == ()


def test_quotes_inside_brackets_are_still_removed() -> None:
    assert single('SYSTEM:(a":"b)').params == ("(a:b)",)


@pytest.mark.parametrize(
    "text",
    [
        "OPEN:/tmp/ab'cd",
        'OPEN:/tmp/ab"cd',
        "EXEC:'echo",
        'EXEC:"echo,x',
        "EXEC:[echo",
        "EXEC:{echo",
        "EXEC:(echo",
        "TCP:[::1:80",
        "EXEC:[a)",
        "EXEC:(a]",
        "EXEC:{a(b}",
        "OPEN:x,bind='y",
        "a!!'b",
    ],
)
def test_unbalanced_quotes_and_brackets(text: str) -> None:
    with pytest.raises(SpecError):
        parse(text)


def test_unbalanced_quote_error_names_the_address_only() -> None:
    with pytest.raises(SpecError) as info:
        parse("OPEN:/tmp/ab'cd")
    assert "/tmp/ab'cd" in info.value.message


# --- property tests ------------------------------------------------------------------

SPECIAL = st.sampled_from(list(":,!='\"\\()[]{}-/0123 ") + ["!!", "TCP", "exec", "\x00", "é", "\udcff"])
GRAMMAR_TEXT = st.lists(st.one_of(SPECIAL, st.text(max_size=4)), max_size=20).map("".join)


def _outcome(text: str) -> object:
    try:
        return parse(text)
    except SpecError as exc:
        return ("SpecError", exc.message)


@PROPS
@given(st.one_of(st.text(), GRAMMAR_TEXT))
def test_parse_never_raises_anything_but_specerror(text: str) -> None:
    try:
        result = parse(text)
    except SpecError:
        return
    assert isinstance(result, AddressSpec | DualSpec)
    parts = [result] if isinstance(result, AddressSpec) else [result.read, result.write]
    for part in parts:
        assert part.keyword == part.keyword.upper()
        assert all(isinstance(p, str) for p in part.params)
        for name, value in part.options:
            assert name and name == name.lower()
            assert value is None or isinstance(value, str)


@PROPS
@given(st.one_of(st.text(), GRAMMAR_TEXT))
def test_parse_is_deterministic(text: str) -> None:
    assert _outcome(text) == _outcome(text)


@PROPS
@given(
    st.text(alphabet=st.characters(blacklist_characters="'\"\\()[]{}:,!=/", blacklist_categories=("Cs",)),
             min_size=1, max_size=10),
    st.lists(st.text(alphabet="abcdefghijklmnop:,=!x ", max_size=8), max_size=4),
)
def test_quoted_params_roundtrip(keyword: str, params: list[str]) -> None:
    """Any parameter text inside double quotes comes back unchanged."""
    if keyword == "-" or keyword.isdigit() or not keyword.strip():
        return
    text = keyword + "".join(':"' + p + '"' for p in params)
    spec = single(text)
    assert spec.keyword == keyword.upper()
    assert spec.params == tuple(params)


# --- option table ------------------------------------------------------------------

SOCK = frozenset({"FD", "SOCKET", "IP4", "IP6", "TCP", "IPAPP", "RETRY", "CHILD"})
FILE = frozenset({"FD", "NAMED", "OPEN", "REG"})
LISTEN = SOCK | {"LISTEN", "RANGE"}


def one(name: str, value: str | None, groups: frozenset[str] = SOCK) -> object:
    result = resolve([(name, value)], groups)
    desc = lookup(name)
    assert desc is not None
    return result.values[desc.name]


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("1", True), ("0", False)])
def test_bool_forms(value: str | None, expected: bool) -> None:
    assert one("reuseaddr", value) is expected


def test_bool_rejects_garbage() -> None:
    with pytest.raises(SpecError):
        one("reuseaddr", "abc")


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("sndbuf", "4096", 4096),
    ("rcvbuf", "0", 0),
    ("keepcnt", "1", 1),
    ("keepcnt", "127", 127),
    ("sourceport", "0", 0),
    ("sourceport", "65535", 65535),
    ("linger", "0", 0),
])
def test_int_in_range(name: str, value: str, expected: int) -> None:
    assert one(name, value) == expected


@pytest.mark.parametrize(("name", "value"), [
    ("sndbuf", "-1"),
    ("sndbuf", "99999999999999999999"),
    ("rcvbuf", "abc"),
    ("rcvbuf", ""),
    ("rcvbuf", None),
    ("keepcnt", "0"),
    ("keepcnt", "128"),
    ("sourceport", "65536"),
    ("sourceport", "-1"),
    ("linger", "1.5"),
])
def test_int_out_of_range_or_malformed(name: str, value: str | None) -> None:
    with pytest.raises(SpecError):
        one(name, value)


@pytest.mark.parametrize(("value", "expected"), [("1.5", 1.5), ("0", 0.0), ("2", 2.0), ("0.25", 0.25)])
def test_time_values(value: str, expected: float) -> None:
    assert one("connect-timeout", value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf", "", None, "1,5"])
def test_time_rejects_bad_values(value: str | None) -> None:
    with pytest.raises(SpecError):
        one("connect-timeout", value)


@pytest.mark.parametrize(("value", "expected"), [("0600", 0o600), ("644", 0o644), ("0", 0), ("7777", 0o7777)])
def test_octal_mode(value: str, expected: int) -> None:
    assert one("perm", value, FILE) == expected


@pytest.mark.parametrize("value", ["999", "0800", "abc", "10000", "-1", "", None])
def test_octal_mode_rejects(value: str | None) -> None:
    with pytest.raises(SpecError):
        one("perm", value, FILE)


def test_user_by_name_and_id() -> None:
    root = pwd.getpwuid(0).pw_name
    assert one("user", root, FILE) == 0
    assert one("user", "0", FILE) == 0
    assert one("user", "1234", FILE) == 1234


def test_group_by_name_and_id() -> None:
    root = grp.getgrgid(0).gr_name
    assert one("group", root, FILE) == 0
    assert one("group", "0", FILE) == 0
    assert one("group", "1234", FILE) == 1234


@pytest.mark.parametrize("name", ["user", "group"])
@pytest.mark.parametrize("value", ["no-such-name-xyz", "", None, "-1", "4294967296", "99999999999999999999", "a\x00b"])
def test_user_group_rejects(name: str, value: str | None) -> None:
    """Unknown names, ids outside uid_t/gid_t and malformed text are SpecErrors."""
    with pytest.raises(SpecError):
        one(name, value, FILE)


def test_unknown_option() -> None:
    with pytest.raises(SpecError) as info:
        resolve([("nosuchopt", "1")], SOCK)
    assert "nosuchopt" in info.value.message


@pytest.mark.parametrize(("name", "groups"), [
    ("reuseaddr", FILE),
    ("creat", SOCK),
    ("backlog", SOCK),
    ("range", SOCK),
    ("nodelay", FILE),
    ("unlink-early", SOCK),
])
def test_option_from_wrong_group(name: str, groups: frozenset[str]) -> None:
    with pytest.raises(SpecError) as info:
        resolve([(name, None if lookup(name).type is options.OptType.BOOL else "1")], groups)  # type: ignore[union-attr]
    assert "not supported" in info.value.message


def test_wrong_group_allowed_without_group_check() -> None:
    result = resolve([("reuseaddr", None)], FILE, check_groups=False)
    assert result.values == {"reuseaddr": True}


def test_application_options_valid_everywhere() -> None:
    result = resolve([("readbytes", "10"), ("ignoreeof", None)], frozenset({"FD"}))
    assert result.values == {"readbytes": 10, "ignoreeof": True}


@pytest.mark.parametrize(("alias", "canonical", "value", "groups"), [
    ("so-reuseaddr", "reuseaddr", None, SOCK),
    ("mode", "perm", "0600", FILE),
    ("create", "creat", None, FILE),
    ("owner", "user", "0", FILE),
    ("bytes", "readbytes", "5", SOCK),
    ("crnl", "crlf", None, SOCK),
    ("tcp-nodelay", "nodelay", None, SOCK),
    ("listen-timeout", "accept-timeout", "1", LISTEN),
])
def test_aliases_resolve_to_canonical(alias: str, canonical: str, value: str | None, groups: frozenset[str]) -> None:
    desc = lookup(alias)
    assert desc is not None and desc.name == canonical
    result = resolve([(alias, value)], groups)
    assert set(result.values) == {canonical}


def test_alias_value_checked_like_canonical() -> None:
    with pytest.raises(SpecError):
        resolve([("mode", "999")], FILE)


def test_lookup_is_case_insensitive() -> None:
    assert lookup("ReuseAddr") is lookup("reuseaddr") is not None


def test_parse_value_direct() -> None:
    desc = lookup("perm")
    assert desc is not None
    assert parse_value(desc, "0640") == 0o640
    with pytest.raises(SpecError):
        parse_value(desc, "999")


def test_every_table_name_is_unique_and_lowercase() -> None:
    seen: set[str] = set()
    for desc in options.TABLE:
        for key in (desc.name, *desc.aliases):
            assert key == key.lower()
            assert key not in seen
            seen.add(key)


ALL_GROUPS = sorted({g for d in options.TABLE for g in d.groups} | {"REG", "CHR", "UNIX"})
OPTION_NAMES = st.one_of(st.sampled_from(sorted(options.BY_NAME)), st.text(max_size=12))
OPTION_VALUES = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["0", "1", "0600", "999", "1.5", "nan", "x41", "1:2:3", "1:2:x00", "root", "٣", "0x1d"]),
)


@PROPS
@given(st.lists(st.tuples(OPTION_NAMES, OPTION_VALUES), max_size=4), st.sets(st.sampled_from(ALL_GROUPS)),
       st.booleans())
def test_resolve_raises_only_specerror(raw: list[tuple[str, str | None]], groups: set[str], check: bool) -> None:
    try:
        result = resolve(raw, frozenset(groups), check_groups=check)
    except SpecError:
        return
    for name in result.values:
        assert name in options.BY_NAME
