"""Feed tests: MT5 over the fake module, replay."""
