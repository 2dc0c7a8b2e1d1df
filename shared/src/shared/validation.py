"""Input rules that every service's request schemas share."""

from __future__ import annotations

# Postgres refuses NUL in text: free text carrying one is refused at the edge (422), not by the database (500).
NO_NUL = r"^[^\x00]*$"
