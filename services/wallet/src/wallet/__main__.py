"""`python -m wallet` serves the wallet API; `python -m wallet migrate` applies its migrations."""

from shared.runtime import main
from wallet.config import Settings
from wallet.main import SPEC

if __name__ == "__main__":
    main(SPEC, Settings())
