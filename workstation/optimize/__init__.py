"""Optimisation, walk-forward analysis and prop-firm challenge odds on the backtester."""
