"""`python -m license_distributor` serves the API; `python -m license_distributor migrate` applies migrations."""

from license_distributor.config import Settings
from license_distributor.main import SPEC
from shared.runtime import main

if __name__ == "__main__":
    main(SPEC, Settings())
