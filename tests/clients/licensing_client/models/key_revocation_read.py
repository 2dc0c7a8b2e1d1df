from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from typing import Literal, cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="KeyRevocationRead")



@_attrs_define
class KeyRevocationRead:
    """ What a revocation did: the key left the JWKS, and every bundle it signed was re-signed with `replaced_by`.

        Attributes:
            bundles_resigned (int):
            domains_resigned (int):
            kid (str):
            replaced_by (str):
            revoked_at (datetime.datetime):
            rotated (bool):
            rotation_id (None | UUID):
            status (Literal['revoked']):
     """

    bundles_resigned: int
    domains_resigned: int
    kid: str
    replaced_by: str
    revoked_at: datetime.datetime
    rotated: bool
    rotation_id: None | UUID
    status: Literal['revoked']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        bundles_resigned = self.bundles_resigned

        domains_resigned = self.domains_resigned

        kid = self.kid

        replaced_by = self.replaced_by

        revoked_at = self.revoked_at.isoformat()

        rotated = self.rotated

        rotation_id: None | str
        if isinstance(self.rotation_id, UUID):
            rotation_id = str(self.rotation_id)
        else:
            rotation_id = self.rotation_id

        status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "bundles_resigned": bundles_resigned,
            "domains_resigned": domains_resigned,
            "kid": kid,
            "replaced_by": replaced_by,
            "revoked_at": revoked_at,
            "rotated": rotated,
            "rotation_id": rotation_id,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bundles_resigned = d.pop("bundles_resigned")

        domains_resigned = d.pop("domains_resigned")

        kid = d.pop("kid")

        replaced_by = d.pop("replaced_by")

        revoked_at = datetime.datetime.fromisoformat(d.pop("revoked_at"))




        rotated = d.pop("rotated")

        def _parse_rotation_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                rotation_id_type_0 = UUID(data)



                return rotation_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        rotation_id = _parse_rotation_id(d.pop("rotation_id"))


        status = cast(Literal['revoked'] , d.pop("status"))
        if status != 'revoked':
            raise ValueError(f"status must match const 'revoked', got '{status}'")

        key_revocation_read = cls(
            bundles_resigned=bundles_resigned,
            domains_resigned=domains_resigned,
            kid=kid,
            replaced_by=replaced_by,
            revoked_at=revoked_at,
            rotated=rotated,
            rotation_id=rotation_id,
            status=status,
        )


        key_revocation_read.additional_properties = d
        return key_revocation_read

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
