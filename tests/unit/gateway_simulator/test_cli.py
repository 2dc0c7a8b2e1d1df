"""`python -m gateway_simulator`: identities are created once and kept; `make run` starts a few gateways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from honcho.environ import parse_procfile

from gateway_simulator.__main__ import main
from scripts.run_local import procfile


def test_init_creates_gateways_with_keys_and_phones_once_and_status_reports_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--state-dir", str(tmp_path), "init", "--gateways", "2", "--phones", "3"])
    created = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(created) == 2
    assert all(len(g["hwid"]) == 12 and len(g["phones"]) == 3 for g in created)
    # A second init keeps the identities: a gateway's key and seq survive restarts.
    main(["--state-dir", str(tmp_path), "init", "--gateways", "2"])
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {g["hwid"] for g in again} == {g["hwid"] for g in created}
    main(["--state-dir", str(tmp_path), "status"])
    status = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {s["hwid"] for s in status} == {g["hwid"] for g in created}
    assert all(s["seq"] == 0 and s["phones_running"] == [] for s in status)


def test_make_run_starts_a_few_simulated_gateways_against_the_local_distributor() -> None:
    processes = parse_procfile(procfile(1, "rental", "127.0.0.1", 5432)).processes
    command = processes["gateways"]
    assert " -m gateway_simulator " in command
    assert " run " in command


def test_init_prints_what_the_web_app_s_add_a_gateway_accepts_and_the_kept_keys_are_not_a_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--state-dir", str(tmp_path), "init", "--gateways", "1", "--phones", "2"])
    (line,) = capsys.readouterr().out.splitlines()
    printed = json.loads(line)
    assert set(printed) == {"hwid", "product", "public_key", "phones"}
    assert len(printed["public_key"]) == 43  # base64url of 32 raw bytes, as provisioning wants it
    # `run` keeps the distributor's keys beside the gateways; they are not read as a gateway's state.
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": []}))
    main(["--state-dir", str(tmp_path), "status"])
    (status,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status["hwid"] == printed["hwid"]
    assert status["phones_stopped"] == printed["phones"]
    # One more gateway beside those there: only the new one is printed, ready to paste.
    main(["--state-dir", str(tmp_path), "init", "--add", "1", "--phones", "1"])
    (added,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert added["hwid"] != printed["hwid"]
    assert len(added["phones"]) == 1


def test_enrol_takes_every_gateway_s_phones_or_one_gateway_s_first_few(tmp_path: Path) -> None:
    from gateway_simulator.fleet import phones_of
    from gateway_simulator.identity import FileStore, GatewayState

    states = [GatewayState.generate(phones=2), GatewayState.generate(phones=3)]
    store = FileStore(tmp_path)
    for state in states:
        store.save(state)
    assert len(phones_of(store.load_all())) == 5
    assert phones_of(states, gateway=states[1].hwid, count=2) == list(states[1].phones[:2])
    with pytest.raises(LookupError):
        phones_of(states, gateway="000000000000")
