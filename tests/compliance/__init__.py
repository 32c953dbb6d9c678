"""Client-compliance checks, each triggered by a deliberately broken client over a raw socket."""
