"""Grading past one machine on Dask: the class goes to a cluster of workers.

A thin layer over the per-submission grading of ``grade`` and the PDFs of ``report``:

    client.py    the trusted client: connects (loopback, or TLS), checks each worker's
                 versions and isolation level, sends each submission's bytes, takes back
                 plain JSON and PDF bytes, validated; ``pipeline.grade`` writes everything
    tasks.py     what runs on a worker: the same ``grade_chunk`` and graded-PDF rendering
    preload.py   ``dask worker --preload autograder.cluster.preload``: the sandbox check
                 and the worker's slot, before it accepts any task
    identity.py  engine and assignment version hashes, isolation levels and their order
    slurm.py     workers as Slurm jobs through dask-jobqueue

Dask runs a task at least once, so a task has no side effect anyone relies on: the
client writes each submission's row once, from the first result that arrives.
"""
