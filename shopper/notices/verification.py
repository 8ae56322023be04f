"""Is this PDF one of our notices, unaltered? One answer for the public page and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from shopper.notices import service
from shopper.notices.pki import trust_roots
from shopper.notices.verify import verify_notice
from shopper.results import report


def check(session: Session, config: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """status: genuine | altered | not_ours | unknown | not_pdf | empty | too_large, with the
    notice's facts when genuine (number, kind, to whom, issued when, superseded or current)."""
    limit = config["NOTICE_MAX_BYTES"]
    if not data:
        return {"status": "empty", "limit_mb": limit // (1024 * 1024)}
    if len(data) > limit:
        return {"status": "too_large", "limit_mb": limit // (1024 * 1024)}
    settings = service.Settings.from_config(config)
    settings.ready()
    roots = trust_roots(*settings.signer_args) or trust_roots(config["PKI_DIR"])
    verdict = verify_notice(
        data,
        root_pem=roots,
        # a notice, else a period report (shopper.results.report: same PKI, no row of its own)
        lookup=lambda sha: service.find_by_sha(session, sha) or report.find_by_sha(session, sha),
    )
    result: dict[str, Any] = {"status": verdict.status, "sha256": verdict.sha256}
    notice = verdict.record
    if verdict.genuine and isinstance(notice, report.IssuedReport):
        result.update(report.verified(notice, config), signer=verdict.signer)
    elif verdict.genuine and notice is not None:
        newer = service.successor(session, notice)
        zone = notice.outlet.timezone if notice.outlet else "Asia/Shanghai"
        result.update(
            number=notice.number,
            kind=notice.kind,
            outlet=notice.outlet.name if notice.outlet else None,
            sub_branch=notice.sub_branch.name,
            issued_on=service.local_today(zone, notice.issued_at),
            superseded_by=newer.number if newer else None,
            signer=verdict.signer,
        )
    return result
