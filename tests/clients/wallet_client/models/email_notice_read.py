from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.email_notice_read_status import EmailNoticeReadStatus
from ..models.notice_kind import NoticeKind
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="EmailNoticeRead")



@_attrs_define
class EmailNoticeRead:
    """ 
        Attributes:
            attempts (int):
            created_at (datetime.datetime):
            id (UUID):
            kind (NoticeKind):
            recipients (list[str]):
            sent_at (datetime.datetime | None):
            status (EmailNoticeReadStatus):
            subject (str):
     """

    attempts: int
    created_at: datetime.datetime
    id: UUID
    kind: NoticeKind
    recipients: list[str]
    sent_at: datetime.datetime | None
    status: EmailNoticeReadStatus
    subject: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        created_at = self.created_at.isoformat()

        id = str(self.id)

        kind = self.kind.value

        recipients = self.recipients



        sent_at: None | str
        if isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        status = self.status.value

        subject = self.subject


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "created_at": created_at,
            "id": id,
            "kind": kind,
            "recipients": recipients,
            "sent_at": sent_at,
            "status": status,
            "subject": subject,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        kind = NoticeKind(d.pop("kind"))




        recipients = cast(list[str], d.pop("recipients"))


        def _parse_sent_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)



                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        sent_at = _parse_sent_at(d.pop("sent_at"))


        status = EmailNoticeReadStatus(d.pop("status"))




        subject = d.pop("subject")

        email_notice_read = cls(
            attempts=attempts,
            created_at=created_at,
            id=id,
            kind=kind,
            recipients=recipients,
            sent_at=sent_at,
            status=status,
            subject=subject,
        )


        email_notice_read.additional_properties = d
        return email_notice_read

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
