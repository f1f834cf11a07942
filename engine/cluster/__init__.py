"""Archive scale: the batch of ``engine.batch.run`` on a Ray cluster (the optional extra ``cluster``).

``run.run_batch_on_cluster`` is the runner (the same events, files, ledger and report as on one
machine) and ``run.ClusterWorkers`` its workers, kept for several batches if wanted; ``layout``
decides how many workers and what each reserves; ``worker`` is a Ray actor's body; ``command``
wires ``--cluster ADDRESS`` into the ``colorize`` command. Only ``run`` imports Ray, and only when
it is called; nothing else in the engine imports this package.
"""

INSTALL_HINT = "install the cluster extra: uv sync --extra cluster"
