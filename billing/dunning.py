"""The organization's dunning policy: when a failed renewal charge is retried, and what happens
to the contract after the last retry. ``billing.collection`` applies it; ops edit it in admin
(``BillingSettingsAdmin``), through ``billing_settings_save``.

The schedule is days after the first failure, one per retry: strictly increasing, 1 to
``MAX_RETRIES`` retries, the last within ``MAX_DAYS`` days (a card that fails for two months is
not coming back, and the customer should not be charged for a period long gone).
"""

from django.db import transaction

from .errors import DunningPolicyInvalid
from .models import BillingSettings

DEFAULT_RETRY_DAYS = (1, 3, 5, 7)
MAX_RETRIES = 10
MAX_DAYS = 60
FINAL_ACTIONS = ("cancel", "unpaid")


def retry_schedule_problem(days) -> str | None:
    """Why ``days`` is not a valid retry schedule (a sentence for ops), or None."""
    if not isinstance(days, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        return "Give the retry days as whole numbers, e.g. 1, 3, 5, 7."
    if not 1 <= len(days) <= MAX_RETRIES:
        return f"Give between 1 and {MAX_RETRIES} retries."
    if days[0] < 1:
        return "The first retry is at least 1 day after the failure."
    if any(later <= earlier for earlier, later in zip(days, days[1:], strict=False)):
        return "Each retry must come after the one before it (increasing days)."
    if days[-1] > MAX_DAYS:
        return f"The last retry must be within {MAX_DAYS} days of the first failure."
    return None


def retry_schedule_of(policy: BillingSettings | None) -> tuple[int, ...]:
    """The retry days an organization's policy (None: it has none) gives."""
    return tuple(policy.retry_schedule_days) if policy and policy.retry_schedule_days else DEFAULT_RETRY_DAYS


@transaction.atomic
def billing_settings_save(*, organization_id, retry_schedule_days, final_action: str) -> BillingSettings:
    """Set an organization's dunning policy (created on first save). Invoices already failing
    follow the new schedule from their next failure on."""
    problem = retry_schedule_problem(list(retry_schedule_days))
    if problem:
        raise DunningPolicyInvalid(problem, field="retry_schedule_days")
    if final_action not in FINAL_ACTIONS:
        raise DunningPolicyInvalid("After the last retry, cancel the contract or mark it unpaid.",
                                   field="final_action")
    policy, _created = BillingSettings.objects.select_for_update().get_or_create(organization_id=organization_id)
    policy.retry_schedule_days = list(retry_schedule_days)
    policy.final_action = final_action
    policy.save(update_fields=["retry_schedule_days", "final_action", "updated_at"])
    return policy
