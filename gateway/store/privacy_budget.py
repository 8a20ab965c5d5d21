"""The differential-privacy budget (``privacy_budget``): epsilon spent per pseudonym and day.

See ``docs/privacy.md``.
"""

from __future__ import annotations

from gateway.store.database import Database

__all__ = ["PrivacyBudget"]


class PrivacyBudget:
    """The ``privacy_budget`` table."""

    def __init__(self, db: Database) -> None:
        """Use ``db``'s connection."""
        self._db = db

    def spend(self, pseudonym: str, day: int, epsilon: float, budget: float) -> bool:
        """Spend ``epsilon`` of ``pseudonym``'s budget for ``day`` if it fits; True if spent."""
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT spent FROM privacy_budget WHERE pseudonym = ? AND day = ?",
                (pseudonym, day),
            ).fetchone()
            spent = 0.0 if row is None else float(row[0])
            # A tiny tolerance so that e.g. 4 x 0.25 fits a budget of 1.0.
            if spent + epsilon > budget + 1e-9:
                return False
            conn.execute(
                "INSERT INTO privacy_budget (pseudonym, day, spent) VALUES (?, ?, ?) "
                "ON CONFLICT (pseudonym, day) DO UPDATE SET spent = excluded.spent",
                (pseudonym, day, spent + epsilon),
            )
            return True

    def spent(self, pseudonym: str, day: int) -> float:
        """Epsilon spent so far by ``pseudonym`` on ``day``."""
        row = (
            self._db.connection()
            .execute(
                "SELECT spent FROM privacy_budget WHERE pseudonym = ? AND day = ?",
                (pseudonym, day),
            )
            .fetchone()
        )
        return 0.0 if row is None else float(row[0])
