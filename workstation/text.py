"""Text that can always be stored.

SQLite stores UTF-8; a Python ``str`` may hold lone surrogates (JSON ``"\\ud800"``,
``os.fsdecode`` of odd bytes) or control characters that cannot be encoded or
that garble a log line. One such string in a journal batch used to make the whole
batch fail to commit, losing other symbols' orders and fills with it. Every edge
that takes text from outside (alerts, plugin strings, settings, file names) passes
it through ``storable`` (replace) or ``check_storable`` (refuse, naming the field).
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UnstorableText(ValueError):
    """A text field holds characters that cannot be stored; the message names the field."""


def storable(text: str) -> str:
    """``text`` with lone surrogates and control characters (other than tab and newlines)
    replaced by U+FFFD, so it always encodes as UTF-8."""
    if text.isascii() and text.isprintable():
        return text  # the common case, without a regex pass
    return _CONTROL.sub(REPLACEMENT, _SURROGATE.sub(REPLACEMENT, text))


def check_storable(field: str, text: str) -> str:
    """``text`` unchanged, or ``UnstorableText`` naming ``field`` and the first bad position."""
    for pattern, what in ((_SURROGATE, "a lone surrogate"), (_CONTROL, "a control character")):
        found = pattern.search(text)
        if found is not None:
            raise UnstorableText(f"{field}: {what} (U+{ord(found.group()):04X}) at character "
                                 f"{found.start() + 1} cannot be stored")
    return text
