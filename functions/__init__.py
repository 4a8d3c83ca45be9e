"""Azure Functions entry points: one Blueprint per capability, thin triggers."""
