"""Data snapshots (DESIGN §9): copies of a project's volumes and data folders, restored on rollback."""
