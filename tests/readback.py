"""How the targets read back what nap writes: systemd unit lines, docker env files.

Written from the targets' own rules (systemd's extract_first_word with
EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE after specifier expansion; docker's
opts.ParseEnvFile), not from nap's quoting, so a test that renders a value and
reads it back here checks nap against the target, not against itself.
"""

from __future__ import annotations

import re

SPECIFIER = re.compile(r"%(.)")
SYSTEMD_WHITESPACE = " \t\n\r"
C_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
    "s": " ",
}


def systemd_specifiers(text: str, instance: str = "1") -> str:
    """Resolve specifiers as systemd does before it splits a line: %% -> %, %i -> instance."""

    def one(match: re.Match[str]) -> str:
        code = match[1]
        if code == "%":
            return "%"
        if code == "i":
            return instance
        raise ValueError(f"a specifier %{code} nap did not mean to write")

    return SPECIFIER.sub(one, text)


def systemd_words(value: str, exec_line: bool = False) -> list[str]:
    """The words of a unit setting's value, as systemd splits them.

    ``exec_line``: an ``Exec*=`` line, where ``$$`` stands for ``$`` (and a lone
    ``$NAME`` would be expanded: refused here, nap must never write one).
    """
    text = systemd_specifiers(value)
    words: list[str] = []
    i = 0
    while i < len(text):
        while i < len(text) and text[i] in SYSTEMD_WHITESPACE:
            i += 1
        if i >= len(text):
            break
        word = ""
        quote = ""
        while i < len(text):
            char = text[i]
            if quote:
                if char == quote:
                    quote = ""
                    i += 1
                    continue
                if char == "\\":
                    nxt = text[i + 1]
                    if nxt not in C_ESCAPES:
                        raise ValueError(f"an escape \\{nxt} nap did not mean to write")
                    word += C_ESCAPES[nxt]
                    i += 2
                    continue
                word += char
                i += 1
                continue
            if char in SYSTEMD_WHITESPACE:
                break
            if char in "\"'":
                quote = char
                i += 1
                continue
            if char == "\\":
                word += C_ESCAPES[text[i + 1]]
                i += 2
                continue
            word += char
            i += 1
        if quote:
            raise ValueError("an unterminated quote")
        words.append(word)
    if exec_line:
        for word in words:
            if re.search(r"(?<!\$)\$(?!\$)", word.replace("$$", "")):
                raise ValueError(f"a $ systemd would expand: {word!r}")
        words = [word.replace("$$", "$") for word in words]
    return words


def systemd_environment(value: str) -> dict[str, str]:
    """What an ``Environment=`` setting assigns."""
    found = {}
    for word in systemd_words(value):
        key, sep, val = word.partition("=")
        assert sep, word
        found[key] = val
    return found


def docker_env_file(text: str) -> dict[str, str]:
    """What ``docker run --env-file`` reads from ``text`` (docker/cli opts/file.go)."""
    found = {}
    raw = text.encode("utf-8")
    for line_bytes in raw.split(b"\n"):
        if len(line_bytes) >= 64 * 1024:
            raise ValueError("bufio.Scanner: token too long")
        line_bytes = line_bytes.removesuffix(b"\r")
        line = line_bytes.decode("utf-8")
        line = line.lstrip(
            " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
            "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
        )
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip(" \t")
        if not sep or not key or any(c in key for c in " \t\n\v\f\r"):
            raise ValueError(f"bad env file line {line!r}")
        found[key] = value
    return found
