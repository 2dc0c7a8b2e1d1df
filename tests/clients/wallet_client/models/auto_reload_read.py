from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.auto_reload_read_last_failure_reason_type_0 import AutoReloadReadLastFailureReasonType0
from ..models.auto_reload_read_state import AutoReloadReadState
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.reload_order_read import ReloadOrderRead





T = TypeVar("T", bound="AutoReloadRead")



@_attrs_define
class AutoReloadRead:
    """ The account's Auto-iSC; while it is not set (`state: not_set`) the setting's fields are null.

        Attributes:
            account_id (UUID):
            amount (None | str):
            enabled (bool):
            last_failure_at (datetime.datetime | None):
            last_failure_reason (AutoReloadReadLastFailureReasonType0 | None):
            last_reload (None | ReloadOrderRead):
            monthly_cap (None | str):
            next_reload_at (datetime.datetime | None):
            reloaded_this_month (str):
            set_at (datetime.datetime | None):
            state (AutoReloadReadState):
            suspended_by_partner (bool):
            threshold_days (int | None):
     """

    account_id: UUID
    amount: None | str
    enabled: bool
    last_failure_at: datetime.datetime | None
    last_failure_reason: AutoReloadReadLastFailureReasonType0 | None
    last_reload: None | ReloadOrderRead
    monthly_cap: None | str
    next_reload_at: datetime.datetime | None
    reloaded_this_month: str
    set_at: datetime.datetime | None
    state: AutoReloadReadState
    suspended_by_partner: bool
    threshold_days: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.reload_order_read import ReloadOrderRead # noqa: PLC0415
        account_id = str(self.account_id)

        amount: None | str
        amount = self.amount

        enabled = self.enabled

        last_failure_at: None | str
        if isinstance(self.last_failure_at, datetime.datetime):
            last_failure_at = self.last_failure_at.isoformat()
        else:
            last_failure_at = self.last_failure_at

        last_failure_reason: None | str
        if isinstance(self.last_failure_reason, AutoReloadReadLastFailureReasonType0):
            last_failure_reason = self.last_failure_reason.value
        else:
            last_failure_reason = self.last_failure_reason

        last_reload: dict[str, Any] | None
        if isinstance(self.last_reload, ReloadOrderRead):
            last_reload = self.last_reload.to_dict()
        else:
            last_reload = self.last_reload

        monthly_cap: None | str
        monthly_cap = self.monthly_cap

        next_reload_at: None | str
        if isinstance(self.next_reload_at, datetime.datetime):
            next_reload_at = self.next_reload_at.isoformat()
        else:
            next_reload_at = self.next_reload_at

        reloaded_this_month = self.reloaded_this_month

        set_at: None | str
        if isinstance(self.set_at, datetime.datetime):
            set_at = self.set_at.isoformat()
        else:
            set_at = self.set_at

        state = self.state.value

        suspended_by_partner = self.suspended_by_partner

        threshold_days: int | None
        threshold_days = self.threshold_days


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "amount": amount,
            "enabled": enabled,
            "last_failure_at": last_failure_at,
            "last_failure_reason": last_failure_reason,
            "last_reload": last_reload,
            "monthly_cap": monthly_cap,
            "next_reload_at": next_reload_at,
            "reloaded_this_month": reloaded_this_month,
            "set_at": set_at,
            "state": state,
            "suspended_by_partner": suspended_by_partner,
            "threshold_days": threshold_days,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reload_order_read import ReloadOrderRead # noqa: PLC0415
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        def _parse_amount(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        amount = _parse_amount(d.pop("amount"))


        enabled = d.pop("enabled")

        def _parse_last_failure_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_failure_at_type_0 = datetime.datetime.fromisoformat(data)



                return last_failure_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_failure_at = _parse_last_failure_at(d.pop("last_failure_at"))


        def _parse_last_failure_reason(data: object) -> AutoReloadReadLastFailureReasonType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_failure_reason_type_0 = AutoReloadReadLastFailureReasonType0(data)



                return last_failure_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AutoReloadReadLastFailureReasonType0 | None, data)

        last_failure_reason = _parse_last_failure_reason(d.pop("last_failure_reason"))


        def _parse_last_reload(data: object) -> None | ReloadOrderRead:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_reload_type_0 = ReloadOrderRead.from_dict(data)



                return last_reload_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReloadOrderRead, data)

        last_reload = _parse_last_reload(d.pop("last_reload"))


        def _parse_monthly_cap(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        monthly_cap = _parse_monthly_cap(d.pop("monthly_cap"))


        def _parse_next_reload_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_reload_at_type_0 = datetime.datetime.fromisoformat(data)



                return next_reload_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_reload_at = _parse_next_reload_at(d.pop("next_reload_at"))


        reloaded_this_month = d.pop("reloaded_this_month")

        def _parse_set_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                set_at_type_0 = datetime.datetime.fromisoformat(data)



                return set_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        set_at = _parse_set_at(d.pop("set_at"))


        state = AutoReloadReadState(d.pop("state"))




        suspended_by_partner = d.pop("suspended_by_partner")

        def _parse_threshold_days(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        threshold_days = _parse_threshold_days(d.pop("threshold_days"))


        auto_reload_read = cls(
            account_id=account_id,
            amount=amount,
            enabled=enabled,
            last_failure_at=last_failure_at,
            last_failure_reason=last_failure_reason,
            last_reload=last_reload,
            monthly_cap=monthly_cap,
            next_reload_at=next_reload_at,
            reloaded_this_month=reloaded_this_month,
            set_at=set_at,
            state=state,
            suspended_by_partner=suspended_by_partner,
            threshold_days=threshold_days,
        )


        auto_reload_read.additional_properties = d
        return auto_reload_read

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
