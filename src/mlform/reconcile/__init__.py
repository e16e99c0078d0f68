"""The reconciler: plan (desired specs vs recorded state vs the world) and apply, with
state, locks, environments and reconciliation on every push."""
