"""The scheduled jobs as plain Python: the Prefect flows are thin layers over these.

Each takes the database URL and an `as_of` date, runs in one transaction per batch, returns a
JSON-serialisable summary, and is idempotent: a second run with the same as_of changes nothing and
sends nothing. An `as_of` more than a week after today is refused (`concerns.domain.clock.check_as_of`)
unless the caller passes `simulation=True`: run for real, it would mark deadlines missed and send
escalations before they are due.
"""

from concerns.jobs.categorisation import run_annual_categorisation
from concerns.jobs.deadline_check import run_deadline_check
from concerns.jobs.hmi import run_hmi_reminders
from concerns.jobs.sending import run_send_notifications
from concerns.jobs.termly import run_termly_review

__all__ = [
    "run_annual_categorisation",
    "run_deadline_check",
    "run_hmi_reminders",
    "run_send_notifications",
    "run_termly_review",
]
