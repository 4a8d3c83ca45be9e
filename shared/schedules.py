"""The fixed schedules of the suite's housekeeping timers (NCRONTAB, UTC, with seconds).

The nightly evaluation's schedule is a setting (``EVALUATION_SCHEDULE``); these are not:
they only bound how long something abandoned lingers, and the documents they clean carry
their own expiry.
"""

SIGNIN_FLOW_SWEEP = "0 */10 * * * *"  # every 10 minutes: sign-ins started and never finished
IMPORT_LOG_SWEEP = "0 7 * * * *"  # hourly: passwords of log files past their expiry
STALLED_IMPORT_SWEEP = "30 */5 * * * *"  # every 5 minutes: imports that made no progress
ALERT_SWEEP = "0 */5 * * * *"  # every 5 minutes: alerts whose dispatch was lost or is due again
