"""Background work: a durable job queue in the database, and which workers are alive.

The worker that runs the jobs is an entry point of its own (``textloop.worker``): it sits above
every package whose jobs it runs, while this queue sits below them so that they can enqueue.
"""
