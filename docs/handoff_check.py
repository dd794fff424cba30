#!/usr/bin/env python3
"""Checks the BI hand-off calls of docs/warehouse.md with pyarrow and pandas.

    python3 docs/handoff_check.py <warehouse>

For every day of <warehouse>/fact_billing_event it compares what each documented call reads (rows, and the
exact sum of `amount` per billing_source, event_type and currency) with the day's _manifest.json totals, and
checks the types a BI engineer relies on: `event_date` a date (from the files), `amount` a Decimal, and the
folder key `event_day` present as a partition column. The calls are the plain first calls (no keyword): the
folder key is not a column of the files, so pyarrow's Hive discovery adds it instead of failing to merge it.
Prints one JSON line; exit 0 when every documented call matches, 1 otherwise, 3 when pyarrow or pandas is
missing (test/warehouse/handoff.test.ts runs it when they are installed; without them it checks the same
discovery rules from Node).
"""
import json
import os
import sys
from decimal import Decimal

try:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq
    import pandas as pd
except ImportError as e:  # pragma: no cover
    print(json.dumps({"ok": False, "error": f"needs pyarrow and pandas: {e}"}))
    sys.exit(3)


def manifest_totals(table_dir):
    want = {}
    for name in sorted(os.listdir(table_dir)):
        path = os.path.join(table_dir, name, "_manifest.json")
        if not name.startswith("event_day=") or not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        for t in doc.get("totals", []):
            key = (t["billing_source"], t["event_type"], t["currency"])
            rows, amount = want.get(key, (0, Decimal(0)))
            want[key] = (rows + t["rows"], amount + Decimal(t["amount_sum"]))
    return want


def totals_of(df):
    got = {}
    for rec in df[["billing_source", "event_type", "currency", "amount"]].itertuples(index=False):
        key = (rec.billing_source, rec.event_type, rec.currency)
        rows, amount = got.get(key, (0, Decimal(0)))
        got[key] = (rows + 1, amount + Decimal(rec.amount))
    return got


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    table_dir = os.path.join(sys.argv[1], "fact_billing_event")
    want = manifest_totals(table_dir)
    # call -> (read it, whether the folder key event_day comes back as a column)
    calls = {
        "pq.read_table(dir)": (lambda: pq.read_table(table_dir).to_pandas(), True),
        "pd.read_parquet(dir)": (lambda: pd.read_parquet(table_dir), True),
        "pyarrow.dataset.dataset(dir, format='parquet', partitioning='hive')": (lambda: ds.dataset(table_dir, format="parquet", partitioning="hive").to_table().to_pandas(), True),
        "pyarrow.dataset.dataset(dir, format='parquet')": (lambda: ds.dataset(table_dir, format="parquet").to_table().to_pandas(), False),
    }
    try:
        date_type = str(pq.read_table(table_dir).schema.field("event_date").type)
    except Exception as e:
        date_type = f"{type(e).__name__}: {e}"
    results = {}
    ok = True
    for name, (call, with_day) in calls.items():
        try:
            df = call()
            same = totals_of(df) == want
            amount_type = type(df["amount"].iloc[0]).__name__ if len(df) else None
            date_ok = len(df) == 0 or type(df["event_date"].iloc[0]).__name__ == "date"
            hive_ok = ("event_day" in df.columns) == with_day
            results[name] = {"rows": len(df), "matches_manifest": same, "amount_type": amount_type, "event_date_is_date": date_ok, "has_event_day": "event_day" in df.columns}
            ok = ok and same and amount_type == "Decimal" and date_ok and hive_ok
        except Exception as e:  # a documented call must work
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            ok = False
    ok = ok and date_type == "date32[day]"
    print(json.dumps({"ok": ok, "event_date_type": date_type, "manifest_rows": sum(r for r, _ in want.values()), "calls": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
