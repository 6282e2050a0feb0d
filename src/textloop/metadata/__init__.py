"""The metadata store: artifacts, the executions that consume and produce them, and lineage."""
