"""The client x frame-violation matrix: real clients against every ``FRAME_VIOLATIONS`` entry.

- ``clients``: one ``receive_all`` function per real client, each returning what the client
  delivered and what ended its receive loop.
- ``reactions``: the pinned form of a result (``Reaction``), how one is read off a run, and
  whether it is compliant.
- ``measure``: runs one client against one entry (the matrix test and ``python -m
  tests.violations.measure`` share it).
- ``expected``: what each client was measured to do on each entry.
- ``render``: writes ``docs/frame-violation-clients.md`` from ``expected`` and the catalogue.
"""
