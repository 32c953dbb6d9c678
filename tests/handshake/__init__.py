"""The client x handshake-catalogue matrix: real clients against every catalogue entry.

- ``clients``: one ``attempt`` function per real client, each returning an ``Outcome``.
- ``expected``: what each client was measured to do on each entry (``python -m
  tests.handshake.measure`` measures it again).
- ``render``: writes ``docs/handshake-clients.md`` from ``expected`` and the catalogue.
"""
