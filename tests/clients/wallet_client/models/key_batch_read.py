from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.issued_key import IssuedKey





T = TypeVar("T", bound="KeyBatchRead")



@_attrs_define
class KeyBatchRead:
    """ 
        Attributes:
            amount (str):
            batch_id (UUID):
            keys (list[IssuedKey]):
     """

    amount: str
    batch_id: UUID
    keys: list[IssuedKey]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.issued_key import IssuedKey # noqa: PLC0415
        amount = self.amount

        batch_id = str(self.batch_id)

        keys = []
        for keys_item_data in self.keys:
            keys_item = keys_item_data.to_dict()
            keys.append(keys_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "amount": amount,
            "batch_id": batch_id,
            "keys": keys,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.issued_key import IssuedKey # noqa: PLC0415
        d = dict(src_dict)
        amount = d.pop("amount")

        batch_id = UUID(d.pop("batch_id"))




        keys = []
        _keys = d.pop("keys")
        for keys_item_data in (_keys):
            keys_item = IssuedKey.from_dict(keys_item_data)



            keys.append(keys_item)


        key_batch_read = cls(
            amount=amount,
            batch_id=batch_id,
            keys=keys,
        )


        key_batch_read.additional_properties = d
        return key_batch_read

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
