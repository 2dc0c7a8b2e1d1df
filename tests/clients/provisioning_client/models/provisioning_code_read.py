from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="ProvisioningCodeRead")



@_attrs_define
class ProvisioningCodeRead:
    """ 
        Attributes:
            created_at (datetime.datetime):
            domain_id (UUID):
            expires_at (datetime.datetime):
            hint (str): the code's last four symbols
            id (UUID):
            max_uses (int):
            revoked_at (datetime.datetime | None):
            uses (int):
     """

    created_at: datetime.datetime
    domain_id: UUID
    expires_at: datetime.datetime
    hint: str
    id: UUID
    max_uses: int
    revoked_at: datetime.datetime | None
    uses: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        domain_id = str(self.domain_id)

        expires_at = self.expires_at.isoformat()

        hint = self.hint

        id = str(self.id)

        max_uses = self.max_uses

        revoked_at: None | str
        if isinstance(self.revoked_at, datetime.datetime):
            revoked_at = self.revoked_at.isoformat()
        else:
            revoked_at = self.revoked_at

        uses = self.uses


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "domain_id": domain_id,
            "expires_at": expires_at,
            "hint": hint,
            "id": id,
            "max_uses": max_uses,
            "revoked_at": revoked_at,
            "uses": uses,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        domain_id = UUID(d.pop("domain_id"))




        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))




        hint = d.pop("hint")

        id = UUID(d.pop("id"))




        max_uses = d.pop("max_uses")

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


        uses = d.pop("uses")

        provisioning_code_read = cls(
            created_at=created_at,
            domain_id=domain_id,
            expires_at=expires_at,
            hint=hint,
            id=id,
            max_uses=max_uses,
            revoked_at=revoked_at,
            uses=uses,
        )


        provisioning_code_read.additional_properties = d
        return provisioning_code_read

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
