from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="ContractCreate")



@_attrs_define
class ContractCreate:
    """ 
        Attributes:
            account_id (UUID):
     """

    account_id: UUID





    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "account_id": account_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        contract_create = cls(
            account_id=account_id,
        )

        return contract_create

