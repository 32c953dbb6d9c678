"""What the server writes and records for every frame violation (the client table is
tests/clients/, made with the conformance kit)."""
