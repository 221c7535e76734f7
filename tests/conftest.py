"""Shared test setup. Qt runs offscreen unless a real display is present
(QT_NOTES.md: with no display and no QT_QPA_PLATFORM, Qt aborts)."""

import os

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Built exchange calendars are cached (workstation.sessions): tests, and the apps they
# start in subprocesses, keep theirs in a folder of the run's own, not the user's cache.
if "BRACKET_CACHE" not in os.environ:
    import atexit
    import shutil
    import tempfile

    _cache = tempfile.mkdtemp(prefix="bracket-test-cache-")
    os.environ["BRACKET_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
