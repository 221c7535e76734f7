"""Pre-trade risk: the gate every order passes, and the router that enforces it."""
