"""Automations: triggers found by sweeps over the other apps' rows, steps sent as messages.

Nothing outside campaigns imports this package: `triggers` reads customers, carts, orders and
stock events to enrol customers (INSERT ... SELECT, once per trigger by a unique key), and
`services` turns due steps into campaign messages through campaigns.rules and the delivery
pipeline.
"""
