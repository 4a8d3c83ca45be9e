"""Adapters of the ports in ``shared.ports``; each loads its SDK on first use."""
