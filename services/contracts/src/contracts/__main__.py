"""`python -m contracts` serves the contracts API; `python -m contracts migrate` applies its migrations."""

from contracts.config import Settings
from contracts.main import SPEC
from shared.runtime import main

if __name__ == "__main__":
    main(SPEC, Settings())
