"""What the server records for every handshake catalogue entry (the client table is
tests/clients/, made with the conformance kit)."""
