"""What anyone may see of a dossier without signing in, and the public board of on-time rates.

A citizen holding a receipt slip sees where the dossier stands: its status, when it is due, the
appointment, whether the result was returned. Of the applicant only a masked name is shown
("Nguyễn Văn An" -> "N***** V** A*"), so a guessed code discloses nobody's details.
"""

from typing import Any

from cchc.dossier.views import DossierView


def masked_name(name: str) -> str:
    """Each word's first letter, the rest as stars."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def public_dossier(row: Any) -> dict[str, Any]:
    """The public answer of a dossier row joined with its agency's and procedure's names."""
    view = DossierView.from_row(row).model_dump(mode="json")
    return {
        "receipt_code": row.receipt_code,
        "agency": row.agency, "agency_name": row.agency_name,
        "procedure": row.procedure, "procedure_name": row.procedure_name,
        "status": view["status"], "received_at": view["received_at"],
        "due_at": view["due_at"], "appointment_at": view["appointment_at"],
        "resolved_at": view["resolved_at"], "outcome": view["outcome"],
        "result_returned": row.returned_at is not None, "returned_at": view["returned_at"],
        "applicant": masked_name(str((row.applicant or {}).get("name", ""))),
    }
