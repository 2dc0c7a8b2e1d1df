from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="GatewayLicenceRead")



@_attrs_define
class GatewayLicenceRead:
    """ 
        Attributes:
            acknowledged_seq (int):
            gateway_id (UUID):
            hwid (str):
            last_seen_at (datetime.datetime | None):
            online (bool):
            product (str):
            seq (int):
     """

    acknowledged_seq: int
    gateway_id: UUID
    hwid: str
    last_seen_at: datetime.datetime | None
    online: bool
    product: str
    seq: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        acknowledged_seq = self.acknowledged_seq

        gateway_id = str(self.gateway_id)

        hwid = self.hwid

        last_seen_at: None | str
        if isinstance(self.last_seen_at, datetime.datetime):
            last_seen_at = self.last_seen_at.isoformat()
        else:
            last_seen_at = self.last_seen_at

        online = self.online

        product = self.product

        seq = self.seq


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "acknowledged_seq": acknowledged_seq,
            "gateway_id": gateway_id,
            "hwid": hwid,
            "last_seen_at": last_seen_at,
            "online": online,
            "product": product,
            "seq": seq,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        acknowledged_seq = d.pop("acknowledged_seq")

        gateway_id = UUID(d.pop("gateway_id"))




        hwid = d.pop("hwid")

        def _parse_last_seen_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_seen_at_type_0 = datetime.datetime.fromisoformat(data)



                return last_seen_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_seen_at = _parse_last_seen_at(d.pop("last_seen_at"))


        online = d.pop("online")

        product = d.pop("product")

        seq = d.pop("seq")

        gateway_licence_read = cls(
            acknowledged_seq=acknowledged_seq,
            gateway_id=gateway_id,
            hwid=hwid,
            last_seen_at=last_seen_at,
            online=online,
            product=product,
            seq=seq,
        )


        gateway_licence_read.additional_properties = d
        return gateway_licence_read

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
