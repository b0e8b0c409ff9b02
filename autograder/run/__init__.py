"""Step 2, run: a submission → its outputs, inside the sandbox (see sandbox.py, worker.py)."""
