from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.contract_status import ContractStatus
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="ContractRead")



@_attrs_define
class ContractRead:
    """ 
        Attributes:
            account_id (UUID):
            burn_rate_per_day (str):
            created_at (datetime.datetime):
            domain_ids (list[UUID]):
            id (UUID):
            rental_version (int):
            status (ContractStatus):
            updated_at (datetime.datetime):
     """

    account_id: UUID
    burn_rate_per_day: str
    created_at: datetime.datetime
    domain_ids: list[UUID]
    id: UUID
    rental_version: int
    status: ContractStatus
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        burn_rate_per_day = self.burn_rate_per_day

        created_at = self.created_at.isoformat()

        domain_ids = []
        for domain_ids_item_data in self.domain_ids:
            domain_ids_item = str(domain_ids_item_data)
            domain_ids.append(domain_ids_item)



        id = str(self.id)

        rental_version = self.rental_version

        status = self.status.value

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "burn_rate_per_day": burn_rate_per_day,
            "created_at": created_at,
            "domain_ids": domain_ids,
            "id": id,
            "rental_version": rental_version,
            "status": status,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        burn_rate_per_day = d.pop("burn_rate_per_day")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        domain_ids = []
        _domain_ids = d.pop("domain_ids")
        for domain_ids_item_data in (_domain_ids):
            domain_ids_item = UUID(domain_ids_item_data)



            domain_ids.append(domain_ids_item)


        id = UUID(d.pop("id"))




        rental_version = d.pop("rental_version")

        status = ContractStatus(d.pop("status"))




        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        contract_read = cls(
            account_id=account_id,
            burn_rate_per_day=burn_rate_per_day,
            created_at=created_at,
            domain_ids=domain_ids,
            id=id,
            rental_version=rental_version,
            status=status,
            updated_at=updated_at,
        )


        contract_read.additional_properties = d
        return contract_read

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
