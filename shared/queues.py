"""Names of the suite's queues (fixed: queue triggers bind to them by name)."""

EVALUATE_PARTNER = "evaluate-partner"  # one message per partner to evaluate
IMPORT_USERS = "import-users"  # large imports continue here, one message per chunk
DISPATCH_ALERTS = "dispatch-alerts"  # alerts to deliver to the Logic App sinks

TRIGGER_QUEUES = (EVALUATE_PARTNER, IMPORT_USERS, DISPATCH_ALERTS)  # each has a "<name>-poison" queue
