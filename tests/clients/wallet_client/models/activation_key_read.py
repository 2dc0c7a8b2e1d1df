from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.activation_key_read_status import ActivationKeyReadStatus
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="ActivationKeyRead")



@_attrs_define
class ActivationKeyRead:
    """ 
        Attributes:
            amount (str):
            batch_id (UUID):
            id (UUID):
            revoked_at (datetime.datetime | None):
            status (ActivationKeyReadStatus):
     """

    amount: str
    batch_id: UUID
    id: UUID
    revoked_at: datetime.datetime | None
    status: ActivationKeyReadStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        batch_id = str(self.batch_id)

        id = str(self.id)

        revoked_at: None | str
        if isinstance(self.revoked_at, datetime.datetime):
            revoked_at = self.revoked_at.isoformat()
        else:
            revoked_at = self.revoked_at

        status = self.status.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "batch_id": batch_id,
            "id": id,
            "revoked_at": revoked_at,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        batch_id = UUID(d.pop("batch_id"))




        id = UUID(d.pop("id"))




        def _parse_revoked_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                revoked_at_type_0 = datetime.datetime.fromisoformat(data)



                return revoked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at"))


        status = ActivationKeyReadStatus(d.pop("status"))




        activation_key_read = cls(
            amount=amount,
            batch_id=batch_id,
            id=id,
            revoked_at=revoked_at,
            status=status,
        )


        activation_key_read.additional_properties = d
        return activation_key_read

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
