"""The plan screen, and opening and closing periods (issue 15): head office only.

`{period}` is the world's open period 2026Q4; the matrix's objects started two of its
assignments (`{assignment}` is the O2 draft), so nothing here changes anything: the
refusals below are what head office gets for an empty form on that period.
"""

HEAD_OFFICE_ONLY = dict(
    anonymous=302,
    inspector=403,
    inspector2=403,
    outlet_manager=403,
    outlet_manager3=403,
    sub_branch_manager=403,
    bank_checker=403,
)

ROWS = {
    ("GET", "/office/periods/{period}/plan"): HEAD_OFFICE_ONLY | {"admin": 200},
    # not confirmed: a sentence, nothing replaced
    ("POST", "/office/periods/{period}/plan/propose"): HEAD_OFFICE_ONLY | {"admin": 400},
    # an empty form: no outlet
    ("POST", "/office/periods/{period}/plan/assignments"): HEAD_OFFICE_ONLY | {"admin": 400},
    # started: it stays in the plan
    ("POST", "/office/periods/{period}/plan/assignments/{assignment}/delete"): HEAD_OFFICE_ONLY
    | {"admin": 409},
    # open already
    ("POST", "/office/periods/{period}/open"): HEAD_OFFICE_ONLY | {"admin": 409},
    ("GET", "/office/periods/{period}/close"): HEAD_OFFICE_ONLY | {"admin": 200},
    # a draft is left and closing was not confirmed
    ("POST", "/office/periods/{period}/close"): HEAD_OFFICE_ONLY | {"admin": 409},
}
