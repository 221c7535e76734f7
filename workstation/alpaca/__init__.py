"""Alpaca: credentials, settings and the clients' plumbing (the feed and the broker live in
``feeds/alpaca.py`` and ``brokers/alpaca.py``)."""
