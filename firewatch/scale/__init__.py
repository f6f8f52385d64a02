"""Scale-out: backfill of multi-year archives on dask.distributed (see docs/sizing.md)."""

from firewatch.scale.backfill import BackfillReport, backfill, plan_blocks, read_dataset

__all__ = ["BackfillReport", "backfill", "plan_blocks", "read_dataset"]
