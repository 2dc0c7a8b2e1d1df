from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.ledger_entry_read_kind import LedgerEntryReadKind
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="LedgerEntryRead")



@_attrs_define
class LedgerEntryRead:
    """ 
        Attributes:
            amount (str):
            at (datetime.datetime):
            balance_after (str):
            id (UUID):
            key_id (None | UUID):
            kind (LedgerEntryReadKind):
            note (None | str):
            period_end (datetime.datetime | None):
            period_start (datetime.datetime | None):
     """

    amount: str
    at: datetime.datetime
    balance_after: str
    id: UUID
    key_id: None | UUID
    kind: LedgerEntryReadKind
    note: None | str
    period_end: datetime.datetime | None
    period_start: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        at = self.at.isoformat()

        balance_after = self.balance_after

        id = str(self.id)

        key_id: None | str
        if isinstance(self.key_id, UUID):
            key_id = str(self.key_id)
        else:
            key_id = self.key_id

        kind = self.kind.value

        note: None | str
        note = self.note

        period_end: None | str
        if isinstance(self.period_end, datetime.datetime):
            period_end = self.period_end.isoformat()
        else:
            period_end = self.period_end

        period_start: None | str
        if isinstance(self.period_start, datetime.datetime):
            period_start = self.period_start.isoformat()
        else:
            period_start = self.period_start


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "at": at,
            "balance_after": balance_after,
            "id": id,
            "key_id": key_id,
            "kind": kind,
            "note": note,
            "period_end": period_end,
            "period_start": period_start,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        at = datetime.datetime.fromisoformat(d.pop("at"))




        balance_after = d.pop("balance_after")

        id = UUID(d.pop("id"))




        def _parse_key_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                key_id_type_0 = UUID(data)



                return key_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        key_id = _parse_key_id(d.pop("key_id"))


        kind = LedgerEntryReadKind(d.pop("kind"))




        def _parse_note(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        note = _parse_note(d.pop("note"))


        def _parse_period_end(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                period_end_type_0 = datetime.datetime.fromisoformat(data)



                return period_end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        period_end = _parse_period_end(d.pop("period_end"))


        def _parse_period_start(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                period_start_type_0 = datetime.datetime.fromisoformat(data)



                return period_start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        period_start = _parse_period_start(d.pop("period_start"))


        ledger_entry_read = cls(
            amount=amount,
            at=at,
            balance_after=balance_after,
            id=id,
            key_id=key_id,
            kind=kind,
            note=note,
            period_end=period_end,
            period_start=period_start,
        )


        ledger_entry_read.additional_properties = d
        return ledger_entry_read

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
