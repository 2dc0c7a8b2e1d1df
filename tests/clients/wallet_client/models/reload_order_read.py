from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="ReloadOrderRead")



@_attrs_define
class ReloadOrderRead:
    """ A reload the partner fulfils and invoices; `ledger_entry_id` is the entry that credited it.

        Attributes:
            account_id (UUID):
            amount (str):
            crossing (int):
            id (UUID):
            ledger_entry_id (UUID):
            ordered_at (datetime.datetime):
            partner (str):
     """

    account_id: UUID
    amount: str
    crossing: int
    id: UUID
    ledger_entry_id: UUID
    ordered_at: datetime.datetime
    partner: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        amount = self.amount

        crossing = self.crossing

        id = str(self.id)

        ledger_entry_id = str(self.ledger_entry_id)

        ordered_at = self.ordered_at.isoformat()

        partner = self.partner


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "amount": amount,
            "crossing": crossing,
            "id": id,
            "ledger_entry_id": ledger_entry_id,
            "ordered_at": ordered_at,
            "partner": partner,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        amount = d.pop("amount")

        crossing = d.pop("crossing")

        id = UUID(d.pop("id"))




        ledger_entry_id = UUID(d.pop("ledger_entry_id"))




        ordered_at = datetime.datetime.fromisoformat(d.pop("ordered_at"))




        partner = d.pop("partner")

        reload_order_read = cls(
            account_id=account_id,
            amount=amount,
            crossing=crossing,
            id=id,
            ledger_entry_id=ledger_entry_id,
            ordered_at=ordered_at,
            partner=partner,
        )


        reload_order_read.additional_properties = d
        return reload_order_read

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
