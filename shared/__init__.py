"""The competency suite's domain, services and adapters (no Azure Functions imports here)."""
