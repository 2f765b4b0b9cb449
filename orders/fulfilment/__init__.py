"""The lifecycle of fulfilments after checkout: click-and-collect, delivery, ship-from-store.

`machine` holds the transition table (pure data), `selectors` and `views` the store screens;
the one transition service every status change goes through, and the named operations built on
it, are in `orders/services/fulfilment.py` and `orders/services/shipments.py`.
"""
