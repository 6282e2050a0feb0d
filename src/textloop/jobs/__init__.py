"""Background work: a durable job queue in the database, and the worker that runs its jobs."""
