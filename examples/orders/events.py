"""The events of the orders example: read, validate, enrich, price and store orders.

Run from the repository root::

    volnux run examples/orders/orders.pty --events examples/orders/events.py

Workflow inputs (all optional; pass them as ``--input name=value``):

``orders_csv``
    The orders to process.  Default: ``orders.csv`` next to this file.
``out_db``
    SQLite file the valid, priced orders are written to (table ``orders``,
    replaced on every run).  Default: ``out/orders.db`` under the current
    directory.
``rejects``
    JSON Lines file the invalid orders are written to, one per line with the
    reasons (emptied on every run).  Default: ``out/rejects.jsonl`` under the
    current directory.

Every event here is an ordinary function or class; the parameter names say
what each one receives: ``piped`` is the result handed on by ``|->``,
``ctx`` is the run context, and any other name is the workflow input of that
name.  Results are plain JSON-friendly values (dicts, lists, strings, numbers),
so the journal can record them.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import volnux

DEFAULT_ORDERS_CSV = str(Path(__file__).with_name("orders.csv"))
DEFAULT_OUT_DB = "out/orders.db"
DEFAULT_REJECTS = "out/rejects.jsonl"

#: What we sell: product code -> (name, category).
CATALOGUE = {
    "KB-101": ("Mechanical keyboard", "peripherals"),
    "MS-220": ("Wireless mouse", "peripherals"),
    "MN-270": ("27-inch monitor", "displays"),
    "HD-050": ("USB-C hub", "accessories"),
    "CB-010": ("HDMI cable", "accessories"),
    "LP-140": ("Laptop stand", "accessories"),
}

#: What one unit of each currency is worth in euros (a stand-in for a rates service).
RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}

#: Lines of at least this many units get the bulk discount.
BULK_QUANTITY = 10
BULK_DISCOUNT = Decimal("0.05")

CENT = Decimal("0.01")


@volnux.event
def PrepareOutputs(out_db: str = DEFAULT_OUT_DB, rejects: str = DEFAULT_REJECTS) -> dict[str, str]:
    """Make the output folders and start an empty rejects file.

    Emptying the rejects file here (and replacing the table in SaveOrders)
    is what makes a second run produce the same files as the first.
    """
    for path in (Path(out_db), Path(rejects)):
        path.parent.mkdir(parents=True, exist_ok=True)
    Path(rejects).write_text("", encoding="utf-8")
    return {"out_db": str(Path(out_db).resolve()), "rejects": str(Path(rejects).resolve())}


@volnux.event
def ReadOrders(orders_csv: str = DEFAULT_ORDERS_CSV) -> list[dict[str, Any]]:
    """Every row of the orders CSV, as text, with its line number."""
    with open(orders_csv, newline="", encoding="utf-8") as f:
        # Line 1 is the header, so the first order is on line 2.
        return [{"line": n, **row} for n, row in enumerate(csv.DictReader(f), start=2)]


class FetchExchangeRates(volnux.Event):
    """Euro exchange rates for the currencies orders are placed in.

    A real pipeline would call a rates service here.  To show retries at
    work, this stand-in fails its first attempt every time, as a flaky
    service might; ``FetchExchangeRates * 3`` in orders.pty gives it three
    attempts, and the policy below waits 0.1 s before trying again and
    retries connection errors only (a bug, say a KeyError, fails at once).
    """

    retry = volnux.RetryPolicy(delay_s=0.1, retry_on=(ConnectionError,))

    def process(self, ctx: volnux.Context) -> dict[str, float]:
        """The rates, from the second attempt on."""
        if ctx.attempt == 1:
            raise ConnectionError(
                "rates service timed out (simulated: the first attempt always fails)"
            )
        return dict(RATES_TO_EUR)


@volnux.event
def ValidateOrders(piped: dict[str, Any]) -> Any:
    """Split the orders into valid and invalid ones.

    ``piped`` holds the results of ``ReadOrders || FetchExchangeRates``,
    keyed by node name.  When every order is valid this succeeds with
    ``{"orders": [...], "rates": {...}}``.  When some are not, it returns a
    ``Failure``: the workflow takes its ``0`` branch, which receives the
    split (valid orders, rates and the rejected rows) as the failure's value.
    """
    rows: list[dict[str, Any]] = piped["ReadOrders"]
    rates: dict[str, float] = piped["FetchExchangeRates"]
    valid: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for row in rows:
        reasons = _problems(row, rates)
        if reasons:
            rejected.append({"order_id": row["order_id"], "line": row["line"], "reasons": reasons})
        else:
            valid.append(
                {
                    "order_id": int(row["order_id"]),
                    "customer": row["customer"].strip(),
                    "product": row["product"],
                    "quantity": int(row["quantity"]),
                    "unit_price": row["unit_price"],
                    "currency": row["currency"],
                }
            )
    split = {"orders": valid, "rates": rates}
    if rejected:
        return volnux.Failure(
            f"{len(rejected)} of {len(rows)} orders are invalid", {**split, "rejected": rejected}
        )
    return split


def _problems(row: dict[str, Any], rates: dict[str, float]) -> list[str]:
    """Why an order row cannot be processed (empty when it can)."""
    problems = []
    if not (row.get("customer") or "").strip():
        problems.append("missing customer")
    if row.get("product") not in CATALOGUE:
        problems.append(f"unknown product {row.get('product')!r}")
    quantity = (row.get("quantity") or "").strip()
    if not quantity.isdigit() or int(quantity) == 0:
        problems.append(f"quantity must be a whole number above 0, got {quantity!r}")
    try:
        if Decimal(row.get("unit_price") or "") <= 0:
            problems.append(f"unit price must be above 0, got {row['unit_price']!r}")
    except InvalidOperation:
        problems.append(f"unit price is not a number: {row.get('unit_price')!r}")
    if row.get("currency") not in rates:
        problems.append(f"no exchange rate for currency {row.get('currency')!r}")
    return problems


@volnux.event
def WriteRejects(piped: volnux.FailureInfo, rejects: str = DEFAULT_REJECTS) -> dict[str, Any]:
    """Write the rejected orders to the rejects file; hand the valid ones on."""
    split = piped.value
    if not isinstance(split, dict) or "rejected" not in split:
        # ValidateOrders crashed rather than rejecting orders: nothing to write.
        raise RuntimeError(f"{piped.node_id} failed: {piped.type}: {piped.message}")
    with open(rejects, "a", encoding="utf-8") as f:
        for rejected in split["rejected"]:
            f.write(json.dumps(rejected) + "\n")
    return {"orders": split["orders"], "rates": split["rates"]}


@volnux.event
def EnrichOrders(piped: dict[str, Any]) -> list[dict[str, Any]]:
    """Add each product's name and category to its order."""
    enriched = []
    for order in piped["orders"]:
        name, category = CATALOGUE[order["product"]]
        enriched.append({**order, "product_name": name, "category": category})
    return enriched


@volnux.event
def PriceOrders(piped: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each order's total in its own currency and in euros, by order id.

    Money is computed in Decimal and handed on as text ("179.80"), so no
    cent is lost to floating point on the way to the database.
    """
    prices = {}
    for order in piped["orders"]:
        total = Decimal(order["unit_price"]) * order["quantity"]
        if order["quantity"] >= BULK_QUANTITY:
            total -= total * BULK_DISCOUNT
        rate = Decimal(str(piped["rates"][order["currency"]]))
        prices[str(order["order_id"])] = {
            "total": str(total.quantize(CENT, ROUND_HALF_UP)),
            "total_eur": str((total * rate).quantize(CENT, ROUND_HALF_UP)),
        }
    return prices


@volnux.event
def SaveOrders(piped: dict[str, Any], out_db: str = DEFAULT_OUT_DB) -> dict[str, Any]:
    """Replace the ``orders`` table of ``out_db`` with the enriched, priced orders."""
    prices: dict[str, dict[str, str]] = piped["PriceOrders"]
    rows = [
        (
            o["order_id"],
            o["customer"],
            o["product"],
            o["product_name"],
            o["category"],
            o["quantity"],
            o["unit_price"],
            o["currency"],
            prices[str(o["order_id"])]["total"],
            prices[str(o["order_id"])]["total_eur"],
        )
        for o in piped["EnrichOrders"]
    ]
    # isolation_level=None and an explicit BEGIN: the drop, create and inserts
    # land together or not at all, so a failed run never leaves half a table.
    with closing(sqlite3.connect(out_db, isolation_level=None)) as db:
        db.execute("BEGIN")
        try:
            db.execute("DROP TABLE IF EXISTS orders")
            db.execute(
                "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
                "product TEXT NOT NULL, product_name TEXT NOT NULL, category TEXT NOT NULL, "
                "quantity INTEGER NOT NULL, unit_price NUMERIC NOT NULL, currency TEXT NOT NULL, "
                "total NUMERIC NOT NULL, total_eur NUMERIC NOT NULL)"
            )
            db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    total_eur = sum((Decimal(p["total_eur"]) for p in prices.values()), Decimal(0))
    return {"saved": len(rows), "total_eur": str(total_eur), "out_db": out_db}
