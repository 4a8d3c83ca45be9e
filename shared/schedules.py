"""The schedules of the suite's timers (NCRONTAB, UTC, with seconds), and how one is worded.

The nightly evaluation's schedule is a setting (``EVALUATION_SCHEDULE``, default
``NIGHTLY_EVALUATION``); the housekeeping ones are not: they only bound how long something
abandoned lingers, and the documents they clean carry their own expiry.
"""

NIGHTLY_EVALUATION = "0 0 2 * * *"  # the default of EVALUATION_SCHEDULE: every day at 02:00 UTC

SIGNIN_FLOW_SWEEP = "0 */10 * * * *"  # every 10 minutes: sign-ins started and never finished
IMPORT_LOG_SWEEP = "0 7 * * * *"  # hourly: passwords of log files past their expiry
STALLED_IMPORT_SWEEP = "30 */5 * * * *"  # every 5 minutes: imports that made no progress
ALERT_SWEEP = "0 */5 * * * *"  # every 5 minutes: alerts whose dispatch was lost or is due again


def runs(schedule: str) -> str:
    """When a timer runs, in words: ``runs at 02:00 UTC`` for a daily time (``0 0 2 * * *``),
    ``runs on the schedule 0 */5 * * * * (NCRONTAB, UTC)`` for anything else."""
    fields = schedule.split()
    if len(fields) == 6 and all(f.isdigit() for f in fields[:3]) and fields[3:] == ["*", "*", "*"]:
        second, minute, hour = (int(f) for f in fields[:3])
        if second < 60 and minute < 60 and hour < 24:
            clock = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")
            return f"runs at {clock} UTC"
    return f"runs on the schedule {schedule} (NCRONTAB, UTC)"
