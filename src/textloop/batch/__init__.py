"""Batch classification: a file or folder of texts in, the same rows with predictions out.

The input is cut into numbered chunks of a fixed number of rows (``sources``), each chunk is read
and scored on its own (``scoring``) and written as it comes (``output``), so memory does not grow
with the file and the same chunk scores the same whichever engine ran it (``engines``: the local
one in this process, or Ray's actors). ``run`` ties them to a classifier's pinned model version,
its review tasks and its lineage; ``jobs`` runs the same work durably on the job queue.
"""
