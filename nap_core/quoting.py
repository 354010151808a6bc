"""Quoting a value for the place nap writes it: a systemd unit, an env file,
YAML or JSON, an argument list; and showing a hostile value in a message.

One helper per target. Each refuses what its target cannot carry (raising
:class:`Unquotable`, a :class:`NapError` whose message names where the value
came from) and otherwise returns text the target reads back as exactly the
value. Validation of what a value *may be* (a VOLUME path, a port) is in
:mod:`nap_core.values`; these helpers are the last line, in every renderer.

Only the standard library (``json`` lazily): ``nap shell`` imports :func:`shown`.
"""

from __future__ import annotations

from nap_core.errors import NapError

#: Everything :meth:`str.splitlines` splits on. Never split untrusted text that
#: must be one line with it; refuse these instead.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
#: How much of a hostile value a message echoes.
SHOWN = 40
#: docker's env-file reader (a Go ``bufio.Scanner``) fails on longer lines.
ENV_LINE_MAX = 64 * 1024 - 1


class Unquotable(NapError):
    """A value its target cannot carry; the message names where it came from."""


def shown(value: str, limit: int = SHOWN) -> str:
    """``value`` as a message may show it: quoted, escaped, at most ``limit`` characters."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return ascii(text)


def bad_character(value: str, allow_tab: bool = True) -> str | None:
    """The first character of ``value`` no target carries, described; None if none.

    Refused: C0 controls (tab allowed if ``allow_tab``), DEL, C1 controls
    (U+0085 among them), the line and paragraph separators U+2028/U+2029, and
    lone surrogates (not UTF-8).
    """
    for char in value:
        code = ord(char)
        if code == 9 and allow_tab:
            continue
        if code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029) or 0xD800 <= code < 0xE000:
            return f"the character U+{code:04X}"
    return None


def refuse_controls(value: str, where: str, allow_tab: bool = True) -> str:
    """Return ``value``; raise :class:`Unquotable` if it holds a character of
    :func:`bad_character` (line breaks, NUL, other controls)."""
    bad = bad_character(value, allow_tab)
    if bad is not None:
        raise Unquotable(f"{where} holds {bad} (a line break or control character): {shown(value)}")
    return value


def _systemd_escape(value: str) -> str:
    # Inside double quotes systemd unescapes \\ and \"; % starts a specifier
    # everywhere in a unit, so it is doubled.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def systemd_env(key: str, value: str, where: str) -> str:
    """An ``Environment=`` assignment, quoted: ``"KEY=value"``.

    systemd resolves ``%`` specifiers in the whole line, then splits it into
    words, unquoting ``"..."`` and unescaping ``\\`` and ``\\"``. ``$`` is not
    expanded in ``Environment=``.
    """
    refuse_controls(key, where, allow_tab=False)
    refuse_controls(value, where)
    return '"' + _systemd_escape(f"{key}={value}") + '"'


def systemd_word(value: str, where: str) -> str:
    """One argument of an ``Exec*=`` command line, quoted: ``"value"``.

    As for :func:`systemd_env`, and ``$`` is doubled: systemd expands
    ``$NAME`` and ``${NAME}`` in command lines.
    """
    refuse_controls(value, where)
    if value == ";":
        raise Unquotable(f"{where} is ';', which separates systemd commands")
    return '"' + _systemd_escape(value).replace("$", "$$") + '"'


def env_file_line(key: str, value: str, where: str) -> str:
    """A ``KEY=VALUE`` line of an env file as ``docker run --env-file`` reads it.

    docker reads the file line by line, keeps the value verbatim after the
    first ``=``, drops a trailing carriage return and fails on lines of 64 KiB
    or more and on bytes that are not UTF-8. So: no line breaks, no NUL, UTF-8,
    and short enough.
    """
    refuse_controls(key, where, allow_tab=False)
    refuse_controls(value, where)
    if not key or key[0] == "#" or "=" in key or " " in key:
        raise Unquotable(f"{where}: {shown(key)} cannot name a variable in an env file")
    line = f"{key}={value}"
    if len(line.encode()) > ENV_LINE_MAX:
        raise Unquotable(f"{where} is longer than an env file line may be ({ENV_LINE_MAX} bytes)")
    return line


def yaml_scalar(value: str | int | float | bool) -> str:
    """A YAML scalar: JSON (a subset of YAML), with every character YAML does
    not print as itself escaped: C1 controls (U+0085 is a YAML line break),
    U+2028/U+2029, U+FEFF, U+FFFE/U+FFFF, surrogates. Characters beyond U+FFFF
    stay as they are (JSON would write surrogate pairs, which YAML reads as two
    lone surrogates)."""
    import json

    text = json.dumps(value, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if _yaml_unprintable(c) else c for c in text)


def _yaml_unprintable(char: str) -> bool:
    code = ord(char)
    return (
        0x7F <= code < 0xA0
        or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
        or 0xD800 <= code < 0xE000
    )


def argv_word(value: str, where: str) -> str:
    """One argument for a program's argument list, taken as a value, never an option.

    No shell ever sees it; what a program could misread is a leading ``-``
    (an option) and what no argv carries is NUL.
    """
    refuse_controls(value, where)
    if value.startswith("-"):
        raise Unquotable(f"{where} starts with '-', which a command would take as an option")
    return value
