"""Redaction at the logging layer: a protected secret never reaches a log line, however it
was encoded, in the message, its arguments, a traceback or a stack; handlers added after
``protect`` are covered too."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from workstation import redaction
from workstation.redaction import mask, protect, redact

SECRET = "red-Act3d_secret.42"  # only this module protects it


def percent_all(text: str, case: str = "upper") -> str:
    encoded = "".join(f"%{byte:02X}" for byte in text.encode())
    return encoded if case == "upper" else encoded.lower()


def json_escaped(text: str, every: int = 1) -> str:
    """Every ``every``-th character written as a JSON ``\\uXXXX`` escape."""
    return "".join(f"\\u{ord(ch):04x}" if index % every == 0 else ch
                   for index, ch in enumerate(text))


@pytest.fixture(autouse=True)
def protected() -> None:
    protect(SECRET)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A real file handler on the root logger, added after ``protect`` ran."""
    path = tmp_path / "test.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.mark.parametrize("written", [
    SECRET,
    quote(SECRET, safe=""),
    percent_all(SECRET),
    percent_all(SECRET, "lower"),
    percent_all(SECRET).replace("%", "%25"),  # percent-encoded twice
    json_escaped(SECRET),
    json_escaped(SECRET).upper().replace("\\U", "\\u"),  # upper-case hex digits
    json_escaped(SECRET, every=3),  # a mix of escaped and plain characters
    json_escaped(SECRET).replace("\\", "\\\\"),  # as repr() shows a JSON text
    "".join(f"\\x{ord(ch):02x}" for ch in SECRET),  # as repr() shows bytes
    SECRET.replace(".", "\\.").replace("-", "\\-"),  # backslash-escaped punctuation
], ids=["plain", "quoted", "percent", "percent-lower", "percent-twice", "json", "json-upper",
        "json-mixed", "json-in-repr", "bytes-repr", "backslashed"])
def test_a_protected_secret_is_masked_in_every_encoding(written):
    assert redact(f"GET /alert?token={written} HTTP/1.1") == "GET /alert?token=*** HTTP/1.1"


def test_text_without_the_secret_is_left_alone():
    text = "red-Act3d_secret.4 and red-act3d_secret.42 are not the secret"

    assert redact(text) == text


def test_a_space_in_a_secret_matches_a_form_encoded_plus():
    assert mask("pass=open+sesame+now&x=1", ["open sesame now"]) == "pass=***&x=1"


def test_mask_hides_an_unprotected_secret_and_every_protected_one():
    assert mask(f"a {SECRET} b wr%6Fng-token-1 c", ["wrong-token-1"]) == "a *** b *** c"


def test_protect_refuses_a_secret_too_short_to_redact_safely():
    with pytest.raises(ValueError, match="at least 8 characters"):
        protect("short")


def test_protect_installs_one_record_factory_however_often_it_is_called():
    protect(SECRET)
    factory = logging.getLogRecordFactory()
    protect(SECRET)
    protect("another-secret-" + SECRET)

    assert logging.getLogRecordFactory() is factory


def test_protect_wraps_a_factory_installed_after_it_again():
    mine = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # someone else replaced ours
    try:
        protect(SECRET)
        record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "%s",
                                                   (SECRET,), None)
    finally:
        logging.setLogRecordFactory(mine)

    assert record.getMessage() == "***"


def test_a_secret_in_a_log_message_or_its_arguments_never_reaches_the_log_file(log_file):
    log = logging.getLogger("some.child.logger")  # propagates: no filter of its own
    log.info("asked for /alert?token=%s", quote(SECRET, safe=""))
    log.warning("body %r", {"tok\\u0065n": json_escaped(SECRET, every=2)})
    log.error(f"formatted in place: {SECRET}")
    log.info("%d%% done for %s", 50, SECRET)

    assert log_file.read_text(encoding="utf-8").splitlines() == [
        "INFO some.child.logger: asked for /alert?token=***",
        "WARNING some.child.logger: body {'tok\\\\u0065n': '***'}",
        "ERROR some.child.logger: formatted in place: ***",
        "INFO some.child.logger: 50% done for ***",
    ]


def test_record_arguments_are_cleared_once_the_message_is_masked():
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "token %s",
                                               (SECRET,), None)

    assert (record.msg, record.args) == ("token ***", ())


def test_a_secret_in_a_traceback_is_masked_and_the_exception_object_dropped(log_file):
    log = logging.getLogger("tb")
    try:
        raise ValueError(f"bad request line b'POST /alert?token={SECRET}'")
    except ValueError:
        log.exception("handling failed")
    record = log.makeRecord("tb", logging.ERROR, "f", 1, "again", (),
                            (ValueError, ValueError(SECRET), None))

    text = log_file.read_text(encoding="utf-8")
    assert SECRET not in text
    assert text.startswith("ERROR tb: handling failed\nTraceback (most recent call last):")
    assert text.endswith("ValueError: bad request line b'POST /alert?token=***'\n")
    assert record.exc_info is None
    assert record.exc_text == "ValueError: ***"


def test_an_exception_without_a_secret_keeps_its_exception_object():
    error = ValueError("nothing secret")
    record = logging.getLogger("x").makeRecord("x", logging.ERROR, "f", 1, "failed", (),
                                               (ValueError, error, None))

    assert record.exc_info == (ValueError, error, None)
    assert record.exc_text == "ValueError: nothing secret"


def test_a_secret_in_a_stack_is_masked():
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "m", (), None,
                                               sinfo=f"Stack (most recent call last):\n"
                                                     f"  File \"{SECRET}.py\", line 1")

    assert record.stack_info == 'Stack (most recent call last):\n  File "***.py", line 1'


def test_arguments_that_do_not_fit_the_message_are_shown_instead_of_raising(log_file):
    logging.getLogger("fit").info("one %s two %s", SECRET)

    assert log_file.read_text(encoding="utf-8") == (
        "INFO fit: one %s two %s (arguments that do not fit the message: ('***',))\n")


def test_a_long_unprotected_secret_is_masked_as_written():
    long_secret = "k" * (redaction.MAX_ENCODED_CHARS + 1)

    assert mask(f"<{long_secret}>", [long_secret]) == "<***>"
