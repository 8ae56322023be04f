"""The sentences head office reads when the organisation's screens or a CSV import refuse
something. Codes are what the services raise (`Refused(code, **params)`) or name in a row
problem; the blueprint adds them to the app's refusal sentences when it is registered."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

MESSAGES = {
    # ---- fields ----
    "org_code_required": _l("Give a code."),
    "org_bad_code": _l(
        "A code is 1 to 40 letters, digits, dots, hyphens or underscores, without spaces."
    ),
    "org_name_required": _l("Give a name."),
    "org_too_long": _l("This is too long: at most %(limit)s characters."),
    "org_sub_branch_code_taken": _l("There is already a sub-branch with the code %(key)s."),
    "org_outlet_code_taken": _l("There is already an outlet with the code %(key)s."),
    "org_agency_name_taken": _l("There is already an agency named %(name)s."),
    "org_sub_branch_required": _l("Choose the sub-branch the outlet belongs to."),
    "org_unknown_sub_branch": _l("There is no sub-branch with the code %(value)s."),
    "org_unknown_outlet": _l("There is no outlet with the code %(value)s."),
    "org_unknown_agency": _l("There is no agency named %(value)s."),
    "org_bad_timezone": _l(
        "%(value)s is not a time zone. Use a name such as Asia/Shanghai or Asia/Hong_Kong."
    ),
    "org_bad_language": _l("The language is zh_CN (Chinese) or en (English)."),
    "org_bad_latitude": _l("The latitude is a number from -90 to 90, such as 31.230416."),
    "org_bad_longitude": _l("The longitude is a number from -180 to 180, such as 121.473701."),
    "org_location_half": _l("Give both the latitude and the longitude, or neither."),
    "org_unknown_features": _l(
        "These features are not in head office's list: %(value)s. "
        "Add them under Outlet features first."
    ),
    # ---- deleting what something uses ----
    "org_sub_branch_in_use": _l(
        "Sub-branch %(key)s cannot be deleted: %(uses)s. Move or delete those first."
    ),
    "org_outlet_in_use": _l(
        "Outlet %(key)s cannot be deleted: %(uses)s. An outlet with a history stays."
    ),
    "org_agency_in_use": _l(
        "Agency %(name)s cannot be deleted: %(uses)s. Move or delete those first."
    ),
    # ---- accounts ----
    "account_username_required": _l("Give a username."),
    "account_bad_username": _l(
        "A username is 1 to 80 letters, digits, dots, hyphens, underscores or @, without spaces."
    ),
    "account_username_taken": _l("There is already an account named %(username)s."),
    "account_bad_role": _l(
        "The role is one of admin, inspector, outlet_manager, sub_branch_manager, bank_checker."
    ),
    "account_agency_required": _l("An inspector belongs to an agency: choose it."),
    "account_outlet_required": _l("An outlet manager belongs to an outlet: choose it."),
    "account_sub_branch_required": _l("A sub-branch manager belongs to a sub-branch: choose it."),
    "account_no_agency": _l("Only an inspector belongs to an agency."),
    "account_no_outlet": _l("Only an outlet manager belongs to an outlet."),
    "account_no_sub_branch": _l(
        "Only a sub-branch manager or a sub-branch's bank checker belongs to a sub-branch."
    ),
    "account_password_short": _l("The password must be at least %(limit)s characters long."),
    "account_password_long": _l("The password may be at most %(limit)s characters long."),
    "account_password_weak": _l(
        "The password must not contain the username, and must not be one character repeated."
    ),
    "account_self": _l(
        "You cannot disable your own account or take away its head-office role: "
        "ask another head-office user."
    ),
    "account_last_admin": _l(
        "This is the last active head-office account: there must always be one. "
        "Create or enable another first."
    ),
    "account_has_assignments": _l(
        "%(username)s has %(count)s assignments as an inspector; they keep an inspecting role "
        "until those are reassigned."
    ),
    # ---- CSV import ----
    "import_no_file": _l("Choose a CSV file to upload."),
    "import_bad_kind": _l(
        "Choose what the file holds: sub-branches, outlets, agencies or accounts."
    ),
    "import_too_large": _l(
        "The file is too large: an import may be at most %(limit)s MB. Split it into smaller files."
    ),
    "import_too_many_rows": _l(
        "The file has more than %(limit)s rows. Split it into smaller files."
    ),
    "import_too_many_accounts": _l(
        "The file would create more than %(limit)s accounts (each new password takes a moment "
        "to protect). Split it into smaller files."
    ),
    "import_utf16": _l(
        "The file is saved as UTF-16 (Excel's \u201cUnicode text\u201d). "
        "Save it as \u201cCSV UTF-8\u201d and upload it again."
    ),
    "import_bad_encoding": _l(
        "The file is neither UTF-8 nor GB18030 text. Save it as \u201cCSV UTF-8\u201d "
        "and upload it again."
    ),
    "import_binary": _l(
        "The file is not a CSV text file (it holds NUL bytes). Save it as \u201cCSV UTF-8\u201d."
    ),
    "import_bad_csv": _l("The file cannot be read as CSV: %(detail)s."),
    "import_empty": _l("The file has no header row."),
    "import_no_rows": _l("The file has a header row but no rows to import."),
    "import_unknown_column": _l(
        "%(value)s is not a column of this kind of file. The columns are: %(columns)s."
    ),
    "import_missing_column": _l("The header row lacks the column %(value)s."),
    "import_repeated_column": _l("The column %(value)s appears twice in the header row."),
    "import_row_length": _l(
        "This row has %(count)s cells but the header row names %(columns)s columns."
    ),
    "import_repeated_key": _l("%(value)s already appears on line %(line)s of this file."),
    "import_bad_active": _l("Active is yes or no (or 1 or 0)."),
    "import_invalid": _l(
        "Nothing was imported: the file has problems. Correct the rows listed and try again."
    ),
    "import_expired": _l(
        "This dry run is no longer available. Upload the file again for a new dry run."
    ),
    "import_changed": _l(
        "The organisation changed since the dry run, so nothing was imported. "
        "Check the new dry run below and import again."
    ),
}
