from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="RedemptionRead")



@_attrs_define
class RedemptionRead:
    """ 
        Attributes:
            amount (str):
            balance (str):
            depletes_at (datetime.datetime | None):
            key_id (UUID):
     """

    amount: str
    balance: str
    depletes_at: datetime.datetime | None
    key_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        balance = self.balance

        depletes_at: None | str
        if isinstance(self.depletes_at, datetime.datetime):
            depletes_at = self.depletes_at.isoformat()
        else:
            depletes_at = self.depletes_at

        key_id = str(self.key_id)


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "balance": balance,
            "depletes_at": depletes_at,
            "key_id": key_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        balance = d.pop("balance")

        def _parse_depletes_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                depletes_at_type_0 = datetime.datetime.fromisoformat(data)



                return depletes_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        depletes_at = _parse_depletes_at(d.pop("depletes_at"))


        key_id = UUID(d.pop("key_id"))




        redemption_read = cls(
            amount=amount,
            balance=balance,
            depletes_at=depletes_at,
            key_id=key_id,
        )


        redemption_read.additional_properties = d
        return redemption_read

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
