"""The lifecycle of fulfilments after checkout: click-and-collect, delivery, ship-from-store.

`machine` holds the transition table (pure data); `services` holds the one transition service
every status change goes through, and the named operations built on it.
"""
