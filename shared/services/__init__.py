"""Use cases: each orchestrates the pure domain through the ports."""
