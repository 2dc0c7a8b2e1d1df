"""`python -m provisioning` serves the provisioning API; `python -m provisioning migrate` applies its migrations."""

from provisioning.config import Settings
from provisioning.main import SPEC
from shared.runtime import main

if __name__ == "__main__":
    main(SPEC, Settings())
