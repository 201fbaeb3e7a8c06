"""Money: the ledger, shops (prices and stock), wages, fees and rent.

Every change to a wallet goes through :meth:`Economy.transfer`, which records
it by cause, so ``sum(wallets) + departed == sum(ledger)`` holds to the mill
at every tick (a property the tests check).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from townlet.core.errors import ConfigError
from townlet.core.world.affordances import ITEMS
from townlet.core.world.rows import TownRows
from townlet.core.world.settings import EconomyConfig
from townlet.core.world.state import MILLS, AgentArrays
from townlet.core.world.townmap import TownMap

__all__ = ["Economy", "pay_rows"]


class Economy:
    """Shops, prices and the money ledger of one town."""

    def __init__(self, config: EconomyConfig, town: TownMap) -> None:
        self.config = config
        self.shop_places = [p for p in config.stock if p in town.places]
        missing = sorted(set(config.stock) - set(town.places))
        if missing:
            raise ConfigError(
                f"world.economy.stock: unknown shop place(s) {missing}; "
                f"places in {town.path.name}: {', '.join(town.places)}"
            )
        self.base_price = np.array(
            [round(config.prices.get(item, 1.0) * MILLS) for item in ITEMS], dtype=np.int64
        )
        self.price = self.base_price.copy()
        """Current price of each item in mills."""
        self.daily_stock = np.array(
            [[config.stock[p].get(item, 0) for item in ITEMS] for p in self.shop_places],
            dtype=np.int32,
        ).reshape(len(self.shop_places), len(ITEMS))
        self.stock = self.daily_stock.copy()
        """``[shops, items]`` units left today."""
        self.shop_of_object = np.full(len(town.object_ids), -1, dtype=np.int32)
        for s, place in enumerate(self.shop_places):
            self.shop_of_object[town.objects_in_place(place)] = s
        self.ledger: defaultdict[str, int] = defaultdict(int)
        """Net mills into wallets by cause (negative: money spent)."""
        self.departed = 0
        """Mills that left town in the wallets of departed agents."""
        self.price_multiplier = np.ones(len(ITEMS), dtype=np.float64)

    def state_dict(self) -> dict[str, Any]:
        """Prices, stock (arrays: copy before keeping) and the books."""
        return {
            "price": self.price,
            "price_multiplier": self.price_multiplier,
            "stock": self.stock,
            "ledger": dict(self.ledger),
            "departed": self.departed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (arrays written in place)."""
        self.price[...] = state["price"]
        self.price_multiplier[...] = state["price_multiplier"]
        self.stock[...] = state["stock"]
        self.ledger.clear()
        self.ledger.update(state["ledger"])
        self.departed = int(state["departed"])

    def transfer(
        self,
        agents: AgentArrays,
        slots: npt.NDArray[np.int64] | int,
        mills: npt.NDArray[np.int64] | int,
        cause: str,
    ) -> None:
        """Add ``mills`` (may be negative) to the wallets of ``slots`` (distinct) and book it."""
        if isinstance(slots, np.ndarray):
            if slots.size == 0:
                return
            total = int(mills.sum()) if isinstance(mills, np.ndarray) else int(mills) * slots.size
        else:
            total = int(mills)
        agents.wallet[slots] += mills
        if total:
            self.ledger[cause] += total

    def set_multiplier(self, item: int, factor: float) -> tuple[int, int]:
        """Scale one item's price from its base; returns (old, new) price in mills."""
        old = int(self.price[item])
        self.price_multiplier[item] = factor
        self.price[item] = round(self.base_price[item] * factor)
        return old, int(self.price[item])

    def restock(self) -> None:
        """Refill every shop to its daily stock (midnight)."""
        self.stock[:] = self.daily_stock

    def balanced(self, agents: AgentArrays) -> bool:
        """Whether wallets reconcile exactly with the ledger."""
        held = int(agents.wallet[agents.alive].sum()) + self.departed
        return held == sum(self.ledger.values())


def pay_rows(
    towns: TownRows, rows: npt.NDArray[np.int64], mills: npt.NDArray[np.int64], cause: str
) -> None:
    """:meth:`Economy.transfer` for distinct rows of several towns: each town books its own."""
    if rows.size == 0:
        return
    towns.agents.wallet[rows] += mills
    if len(towns.worlds) == 1:
        totals = [int(mills.sum())]
    else:
        per_town = np.zeros(len(towns.worlds), dtype=np.int64)
        np.add.at(per_town, towns.town_index[rows], mills)
        totals = per_town.tolist()
    for world, total in zip(towns.worlds, totals, strict=True):
        if total:
            world.economy.ledger[cause] += total
