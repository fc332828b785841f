"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from models.authority import AuthorityPolicy
from models.cases import Case, CaseEvent, Deadline, use_dialect
from models.imports import ImportedFile, ImportedSchool
from models.inspections import Inspection, InspectionGrade
from models.judgements import LaCategory, SchoolFact
from models.notifications import DeadlineNotice, Letter, Notification
from models.oidc import OidcSession, OidcSignIn
from models.schools import Person, RoleAssignment, School
from models.users import FormSubmission, LetterForm, Officer, OfficerSession, SignInAttempt

__all__ = [
    "AuthorityPolicy",
    "Case",
    "CaseEvent",
    "Deadline",
    "DeadlineNotice",
    "ImportedFile",
    "ImportedSchool",
    "Inspection",
    "LaCategory",
    "InspectionGrade",
    "Letter",
    "FormSubmission",
    "LetterForm",
    "Notification",
    "Officer",
    "OfficerSession",
    "OidcSession",
    "OidcSignIn",
    "Person",
    "use_dialect",
    "RoleAssignment",
    "SchoolFact",
    "School",
    "SignInAttempt",
]


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_rewriting_history(session, flush_context, instances) -> None:
    # History is never rewritten (docs/decisions/0014-append-only-history.md): a correction is a new event.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, CaseEvent | LaCategory | SchoolFact) and (
                obj in session.deleted or session.is_modified(obj)):
            what = obj.__tablename__.replace("_", " ")
            raise AuditTrailIsAppendOnly(f"{what} {obj.id} cannot be changed or deleted; record a new one")
