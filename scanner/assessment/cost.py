"""The breach-cost basis of the customer-trust estimate (`scanner.assessment.trust`):
the per-record figure, its currency and its source, and the user's
`--cost-*` options checked into one.

Apart from `trust`, which re-exports it, because the command line shows the
default figure in its help: `trustscan --help` imports this and not the
assessment.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from scanner.support.errors import InputError


@dataclass(frozen=True)
class CostBasis:
    """The per-record breach cost the estimate uses, and where it comes from."""

    per_record: float = 173.0
    currency: str = "USD"
    source: str = (
        "IBM and Ponemon Institute, Cost of a Data Breach Report 2024: "
        "average cost per customer PII record (USD 173)"
    )


DEFAULT_COST = CostBasis()


# A record costs tens or hundreds in any currency; a million per record is a typo.
MAX_COST_PER_RECORD = 1_000_000.0


def cost_basis(
    per_record: float | None = None, currency: str | None = None, source: str | None = None
) -> CostBasis:
    """The cost basis from the user's `--cost-*` options, checked."""
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise InputError(f"--cost-currency {currency!r}: give an ISO 4217 code such as EUR")
    if per_record is None:
        if source is not None:
            raise InputError("--cost-source describes --cost-per-record: give that too")
        if currency is not None:
            raise InputError("--cost-currency is the unit of --cost-per-record: give that too")
        return DEFAULT_COST
    # inf and nan pass a "> 0" check and would make the JSON result invalid.
    if not math.isfinite(per_record) or not 0 < per_record <= MAX_COST_PER_RECORD:
        raise InputError(
            f"--cost-per-record {per_record!r}: give a positive amount up to "
            f"{MAX_COST_PER_RECORD:,.0f} (a cost per customer record)"
        )
    if source is not None and len(source) > 200:
        raise InputError("--cost-source: say where the figure comes from in under 200 characters")
    return CostBasis(
        per_record=per_record,
        currency=(currency or DEFAULT_COST.currency).upper(),
        source=source or "given with --cost-per-record (no source stated)",
    )
