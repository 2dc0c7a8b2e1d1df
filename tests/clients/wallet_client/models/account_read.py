from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.account_read_status import AccountReadStatus
from ..models.account_read_warning_thresholds_source import AccountReadWarningThresholdsSource
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.scheduled_rate_read import ScheduledRateRead





T = TypeVar("T", bound="AccountRead")



@_attrs_define
class AccountRead:
    """ 
        Attributes:
            balance (str):
            burn_rate_per_day (str):
            depletes_at (datetime.datetime | None):
            id (UUID):
            name (str):
            status (AccountReadStatus):
            version (int):
            scheduled_rates (list[ScheduledRateRead] | Unset):
            test_clock_id (None | Unset | UUID):
            test_clock_time (datetime.datetime | None | Unset):
            warning_thresholds_s (list[int] | Unset):
            warning_thresholds_source (AccountReadWarningThresholdsSource | Unset):  Default:
                AccountReadWarningThresholdsSource.DEFAULT.
     """

    balance: str
    burn_rate_per_day: str
    depletes_at: datetime.datetime | None
    id: UUID
    name: str
    status: AccountReadStatus
    version: int
    scheduled_rates: list[ScheduledRateRead] | Unset = UNSET
    test_clock_id: None | Unset | UUID = UNSET
    test_clock_time: datetime.datetime | None | Unset = UNSET
    warning_thresholds_s: list[int] | Unset = UNSET
    warning_thresholds_source: AccountReadWarningThresholdsSource | Unset = AccountReadWarningThresholdsSource.DEFAULT
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.scheduled_rate_read import ScheduledRateRead # noqa: PLC0415
        balance = self.balance

        burn_rate_per_day = self.burn_rate_per_day

        depletes_at: None | str
        if isinstance(self.depletes_at, datetime.datetime):
            depletes_at = self.depletes_at.isoformat()
        else:
            depletes_at = self.depletes_at

        id = str(self.id)

        name = self.name

        status = self.status.value

        version = self.version

        scheduled_rates: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.scheduled_rates, Unset):
            scheduled_rates = []
            for scheduled_rates_item_data in self.scheduled_rates:
                scheduled_rates_item = scheduled_rates_item_data.to_dict()
                scheduled_rates.append(scheduled_rates_item)



        test_clock_id: None | str | Unset
        if isinstance(self.test_clock_id, Unset):
            test_clock_id = UNSET
        elif isinstance(self.test_clock_id, UUID):
            test_clock_id = str(self.test_clock_id)
        else:
            test_clock_id = self.test_clock_id

        test_clock_time: None | str | Unset
        if isinstance(self.test_clock_time, Unset):
            test_clock_time = UNSET
        elif isinstance(self.test_clock_time, datetime.datetime):
            test_clock_time = self.test_clock_time.isoformat()
        else:
            test_clock_time = self.test_clock_time

        warning_thresholds_s: list[int] | Unset = UNSET
        if not isinstance(self.warning_thresholds_s, Unset):
            warning_thresholds_s = self.warning_thresholds_s



        warning_thresholds_source: str | Unset = UNSET
        if not isinstance(self.warning_thresholds_source, Unset):
            warning_thresholds_source = self.warning_thresholds_source.value



        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "balance": balance,
            "burn_rate_per_day": burn_rate_per_day,
            "depletes_at": depletes_at,
            "id": id,
            "name": name,
            "status": status,
            "version": version,
        })
        if scheduled_rates is not UNSET:
            field_dict["scheduled_rates"] = scheduled_rates
        if test_clock_id is not UNSET:
            field_dict["test_clock_id"] = test_clock_id
        if test_clock_time is not UNSET:
            field_dict["test_clock_time"] = test_clock_time
        if warning_thresholds_s is not UNSET:
            field_dict["warning_thresholds_s"] = warning_thresholds_s
        if warning_thresholds_source is not UNSET:
            field_dict["warning_thresholds_source"] = warning_thresholds_source

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.scheduled_rate_read import ScheduledRateRead # noqa: PLC0415
        d = dict(src_dict)
        balance = d.pop("balance")

        burn_rate_per_day = d.pop("burn_rate_per_day")

        def _parse_depletes_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                depletes_at_type_0 = datetime.datetime.fromisoformat(data)



                return depletes_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        depletes_at = _parse_depletes_at(d.pop("depletes_at"))


        id = UUID(d.pop("id"))




        name = d.pop("name")

        status = AccountReadStatus(d.pop("status"))




        version = d.pop("version")

        _scheduled_rates = d.pop("scheduled_rates", UNSET)
        scheduled_rates: list[ScheduledRateRead] | Unset = UNSET
        if _scheduled_rates is not UNSET:
            scheduled_rates = []
            for scheduled_rates_item_data in _scheduled_rates:
                scheduled_rates_item = ScheduledRateRead.from_dict(scheduled_rates_item_data)



                scheduled_rates.append(scheduled_rates_item)


        def _parse_test_clock_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                test_clock_id_type_0 = UUID(data)



                return test_clock_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        test_clock_id = _parse_test_clock_id(d.pop("test_clock_id", UNSET))


        def _parse_test_clock_time(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                test_clock_time_type_0 = datetime.datetime.fromisoformat(data)



                return test_clock_time_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        test_clock_time = _parse_test_clock_time(d.pop("test_clock_time", UNSET))


        warning_thresholds_s = cast(list[int], d.pop("warning_thresholds_s", UNSET))


        _warning_thresholds_source = d.pop("warning_thresholds_source", UNSET)
        warning_thresholds_source: AccountReadWarningThresholdsSource | Unset
        if isinstance(_warning_thresholds_source,  Unset):
            warning_thresholds_source = UNSET
        else:
            warning_thresholds_source = AccountReadWarningThresholdsSource(_warning_thresholds_source)




        account_read = cls(
            balance=balance,
            burn_rate_per_day=burn_rate_per_day,
            depletes_at=depletes_at,
            id=id,
            name=name,
            status=status,
            version=version,
            scheduled_rates=scheduled_rates,
            test_clock_id=test_clock_id,
            test_clock_time=test_clock_time,
            warning_thresholds_s=warning_thresholds_s,
            warning_thresholds_source=warning_thresholds_source,
        )


        account_read.additional_properties = d
        return account_read

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
