"""Automations: triggers found by sweeps over the other apps' rows, steps sent as messages.

Nothing outside campaigns imports this package: `triggers` reads customers, carts, orders and
stock events (the query that enrols customers for each kind of trigger) and `selectors` feeds
the screens; the changes are services (`campaigns/services/automations.py`): enrolment (INSERT
... SELECT, once per trigger by a unique key), and due steps turned into campaign messages
through campaigns.rules and the delivery pipeline.
"""
