"""Shared test setup. Qt runs offscreen unless a real display is present
(QT_NOTES.md: with no display and no QT_QPA_PLATFORM, Qt aborts)."""

import os

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
