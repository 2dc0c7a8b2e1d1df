from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.rental_status import RentalStatus
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="RentalRead")



@_attrs_define
class RentalRead:
    """ 
        Attributes:
            activated_at (datetime.datetime):
            device_id (UUID):
            domain_id (UUID):
            end_reason (None | str):
            ended_at (datetime.datetime | None):
            hwid (str):
            id (UUID):
            product (str):
            rate_per_day (str):
            replaced_by (None | UUID):
            replaces (None | UUID):
            status (RentalStatus):
     """

    activated_at: datetime.datetime
    device_id: UUID
    domain_id: UUID
    end_reason: None | str
    ended_at: datetime.datetime | None
    hwid: str
    id: UUID
    product: str
    rate_per_day: str
    replaced_by: None | UUID
    replaces: None | UUID
    status: RentalStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        activated_at = self.activated_at.isoformat()

        device_id = str(self.device_id)

        domain_id = str(self.domain_id)

        end_reason: None | str
        end_reason = self.end_reason

        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        hwid = self.hwid

        id = str(self.id)

        product = self.product

        rate_per_day = self.rate_per_day

        replaced_by: None | str
        if isinstance(self.replaced_by, UUID):
            replaced_by = str(self.replaced_by)
        else:
            replaced_by = self.replaced_by

        replaces: None | str
        if isinstance(self.replaces, UUID):
            replaces = str(self.replaces)
        else:
            replaces = self.replaces

        status = self.status.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "activated_at": activated_at,
            "device_id": device_id,
            "domain_id": domain_id,
            "end_reason": end_reason,
            "ended_at": ended_at,
            "hwid": hwid,
            "id": id,
            "product": product,
            "rate_per_day": rate_per_day,
            "replaced_by": replaced_by,
            "replaces": replaces,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        activated_at = datetime.datetime.fromisoformat(d.pop("activated_at"))




        device_id = UUID(d.pop("device_id"))




        domain_id = UUID(d.pop("domain_id"))




        def _parse_end_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        end_reason = _parse_end_reason(d.pop("end_reason"))


        def _parse_ended_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = datetime.datetime.fromisoformat(data)



                return ended_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ended_at = _parse_ended_at(d.pop("ended_at"))


        hwid = d.pop("hwid")

        id = UUID(d.pop("id"))




        product = d.pop("product")

        rate_per_day = d.pop("rate_per_day")

        def _parse_replaced_by(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                replaced_by_type_0 = UUID(data)



                return replaced_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        replaced_by = _parse_replaced_by(d.pop("replaced_by"))


        def _parse_replaces(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                replaces_type_0 = UUID(data)



                return replaces_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        replaces = _parse_replaces(d.pop("replaces"))


        status = RentalStatus(d.pop("status"))




        rental_read = cls(
            activated_at=activated_at,
            device_id=device_id,
            domain_id=domain_id,
            end_reason=end_reason,
            ended_at=ended_at,
            hwid=hwid,
            id=id,
            product=product,
            rate_per_day=rate_per_day,
            replaced_by=replaced_by,
            replaces=replaces,
            status=status,
        )


        rental_read.additional_properties = d
        return rental_read

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
