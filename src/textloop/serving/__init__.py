"""The HTTP API: app factory, dependencies, routes, and the classification service behind them."""
