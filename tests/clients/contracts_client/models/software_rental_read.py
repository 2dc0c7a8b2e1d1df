from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.software_rental_status import SoftwareRentalStatus
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="SoftwareRentalRead")



@_attrs_define
class SoftwareRentalRead:
    """ 
        Attributes:
            burn_rate_per_day (str):
            contract_id (UUID):
            count (int):
            domain_id (UUID):
            end_reason (None | str):
            ended_at (datetime.datetime | None):
            id (UUID):
            rate_per_day (str):
            started_at (datetime.datetime):
            status (SoftwareRentalStatus):
            type_ (str):
            updated_at (datetime.datetime):
     """

    burn_rate_per_day: str
    contract_id: UUID
    count: int
    domain_id: UUID
    end_reason: None | str
    ended_at: datetime.datetime | None
    id: UUID
    rate_per_day: str
    started_at: datetime.datetime
    status: SoftwareRentalStatus
    type_: str
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        burn_rate_per_day = self.burn_rate_per_day

        contract_id = str(self.contract_id)

        count = self.count

        domain_id = str(self.domain_id)

        end_reason: None | str
        end_reason = self.end_reason

        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        id = str(self.id)

        rate_per_day = self.rate_per_day

        started_at = self.started_at.isoformat()

        status = self.status.value

        type_ = self.type_

        updated_at = self.updated_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "burn_rate_per_day": burn_rate_per_day,
            "contract_id": contract_id,
            "count": count,
            "domain_id": domain_id,
            "end_reason": end_reason,
            "ended_at": ended_at,
            "id": id,
            "rate_per_day": rate_per_day,
            "started_at": started_at,
            "status": status,
            "type": type_,
            "updated_at": updated_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        burn_rate_per_day = d.pop("burn_rate_per_day")

        contract_id = UUID(d.pop("contract_id"))




        count = d.pop("count")

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


        id = UUID(d.pop("id"))




        rate_per_day = d.pop("rate_per_day")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))




        status = SoftwareRentalStatus(d.pop("status"))




        type_ = d.pop("type")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        software_rental_read = cls(
            burn_rate_per_day=burn_rate_per_day,
            contract_id=contract_id,
            count=count,
            domain_id=domain_id,
            end_reason=end_reason,
            ended_at=ended_at,
            id=id,
            rate_per_day=rate_per_day,
            started_at=started_at,
            status=status,
            type_=type_,
            updated_at=updated_at,
        )


        software_rental_read.additional_properties = d
        return software_rental_read

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
