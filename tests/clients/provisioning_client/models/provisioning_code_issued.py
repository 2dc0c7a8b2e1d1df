from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="ProvisioningCodeIssued")



@_attrs_define
class ProvisioningCodeIssued:
    """ The only time the code itself is shown: it is stored as a hash.

        Attributes:
            code (str):
            domain_id (UUID):
            expires_at (datetime.datetime):
            id (UUID):
            max_uses (int):
     """

    code: str
    domain_id: UUID
    expires_at: datetime.datetime
    id: UUID
    max_uses: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        code = self.code

        domain_id = str(self.domain_id)

        expires_at = self.expires_at.isoformat()

        id = str(self.id)

        max_uses = self.max_uses


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "code": code,
            "domain_id": domain_id,
            "expires_at": expires_at,
            "id": id,
            "max_uses": max_uses,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        code = d.pop("code")

        domain_id = UUID(d.pop("domain_id"))




        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))




        id = UUID(d.pop("id"))




        max_uses = d.pop("max_uses")

        provisioning_code_issued = cls(
            code=code,
            domain_id=domain_id,
            expires_at=expires_at,
            id=id,
            max_uses=max_uses,
        )


        provisioning_code_issued.additional_properties = d
        return provisioning_code_issued

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
