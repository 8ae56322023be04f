"""The results pages (issue 15): head office only; a period in the URL (`{period}`)."""

from __future__ import annotations

_OTHERS = dict(
    inspector=403,
    inspector2=403,
    outlet_manager=403,
    outlet_manager3=403,
    sub_branch_manager=403,
)

ROWS = {
    ("GET", "/office/results/"): dict(anonymous=302, admin=200, **_OTHERS),
    ("GET", "/office/results/{period}/"): dict(anonymous=302, admin=200, **_OTHERS),
    ("GET", "/office/results/{period}/weak"): dict(anonymous=302, admin=200, **_OTHERS),
    ("GET", "/office/results/{period}/charts"): dict(anonymous=302, admin=200, **_OTHERS),
    # an empty form: no item ticked
    ("POST", "/office/results/{period}/weak/draft"): dict(anonymous=302, admin=400, **_OTHERS),
}
