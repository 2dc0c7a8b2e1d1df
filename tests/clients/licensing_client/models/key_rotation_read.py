from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.key_rotation_read_status import KeyRotationReadStatus
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="KeyRotationRead")



@_attrs_define
class KeyRotationRead:
    """ A signing-key rotation, carried out in the background; follow it until `status` is `completed`.

        Attributes:
            bundles_reissued (int):
            completed_at (datetime.datetime | None):
            gateways_acknowledged (int):
            gateways_live (int):
            gateways_resigned (int):
            gateways_total (int):
            id (UUID):
            kid (str):
            requested_at (datetime.datetime):
            status (KeyRotationReadStatus):
     """

    bundles_reissued: int
    completed_at: datetime.datetime | None
    gateways_acknowledged: int
    gateways_live: int
    gateways_resigned: int
    gateways_total: int
    id: UUID
    kid: str
    requested_at: datetime.datetime
    status: KeyRotationReadStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        bundles_reissued = self.bundles_reissued

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        gateways_acknowledged = self.gateways_acknowledged

        gateways_live = self.gateways_live

        gateways_resigned = self.gateways_resigned

        gateways_total = self.gateways_total

        id = str(self.id)

        kid = self.kid

        requested_at = self.requested_at.isoformat()

        status = self.status.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "bundles_reissued": bundles_reissued,
            "completed_at": completed_at,
            "gateways_acknowledged": gateways_acknowledged,
            "gateways_live": gateways_live,
            "gateways_resigned": gateways_resigned,
            "gateways_total": gateways_total,
            "id": id,
            "kid": kid,
            "requested_at": requested_at,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bundles_reissued = d.pop("bundles_reissued")

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)



                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))


        gateways_acknowledged = d.pop("gateways_acknowledged")

        gateways_live = d.pop("gateways_live")

        gateways_resigned = d.pop("gateways_resigned")

        gateways_total = d.pop("gateways_total")

        id = UUID(d.pop("id"))




        kid = d.pop("kid")

        requested_at = datetime.datetime.fromisoformat(d.pop("requested_at"))




        status = KeyRotationReadStatus(d.pop("status"))




        key_rotation_read = cls(
            bundles_reissued=bundles_reissued,
            completed_at=completed_at,
            gateways_acknowledged=gateways_acknowledged,
            gateways_live=gateways_live,
            gateways_resigned=gateways_resigned,
            gateways_total=gateways_total,
            id=id,
            kid=kid,
            requested_at=requested_at,
            status=status,
        )


        key_rotation_read.additional_properties = d
        return key_rotation_read

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
