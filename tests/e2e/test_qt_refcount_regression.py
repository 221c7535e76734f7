"""Guard against the PySide6 6.12.0 + CPython 3.11 abort (shared/QT_NOTES.md):
repaint a pyqtgraph plot a few thousand times in a fresh process and check that
it exits cleanly instead of dying with 'Fatal Python error: none_dealloc'."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    plot = pg.PlotWidget()
    plot.resize(400, 300)
    plot.show()
    curve = plot.plot()
    before = sys.getrefcount(None)
    data = np.random.default_rng(1).normal(size=200).cumsum()
    for i in range(3000):
        curve.setData(np.roll(data, i))
        plot.setTitle(f"frame {i}")
        plot.repaint()
        app.processEvents()
    after = sys.getrefcount(None)
    print(before, after)
""")


def test_thousands_of_pyqtgraph_repaints_exit_cleanly():
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = (int(v) for v in result.stdout.split())
    if sys.version_info < (3, 12):  # None is immortal (constant count) from 3.12 on
        assert after >= before - 100, "None's reference count is leaking down"


def test_installed_pyside6_is_not_the_release_that_aborts_on_python_311():
    import PySide6

    version = tuple(int(part) for part in PySide6.__version__.split(".")[:2])
    assert sys.version_info >= (3, 12) or version < (6, 12), PySide6.__version__
